/**
 * Kernel timestamps are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns); evidence carries wall
 * time. The offset between the two is taken again at every conversion batch (nowNs), so a
 * wall-clock step or a paused VM does not skew records for the rest of the run.
 */
import { monotonicNs } from "../../ffi/libc.ts";

export class KernelClock {
  private offsetNs = 0n;

  /** Now on the kernel's clock; also re-reads the offset to wall time. */
  nowNs(): bigint {
    const mono = monotonicNs();
    this.offsetNs = BigInt(Date.now()) * 1_000_000n - mono;
    return mono;
  }

  /** RFC 3339 UTC, millisecond precision. */
  toIso(monoNs: bigint): string {
    return new Date(Number((monoNs + this.offsetNs) / 1_000_000n)).toISOString();
  }
}
