/**
 * Kernel timestamps are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns); evidence carries wall
 * time. The offset between the two clocks is measured from both in nanoseconds once per
 * collector cycle (sync), and kept while a new measurement agrees with it within a
 * millisecond: the same kernel timestamp then becomes the same wall time in every record of a
 * flow (an offset re-derived per chunk from a millisecond Date.now() moved first_seen by 1 ms
 * between records), while a wall-clock step or a resumed VM, which move CLOCK_REALTIME and not
 * CLOCK_MONOTONIC, is followed from the next cycle on.
 */
import { monotonicNs, realtimeNs } from "../../ffi/libc.ts";

/** A re-measured offset that differs by more than this is a step of the wall clock, taken over. */
const STEP_NS = 1_000_000n;

export interface Clocks {
  monotonicNs: () => bigint;
  realtimeNs: () => bigint;
}

export class KernelClock {
  private offsetNs: bigint | undefined;

  /** The clocks are the system's; a test may pass its own to step the wall clock. */
  constructor(private readonly clocks: Clocks = { monotonicNs, realtimeNs }) {}

  /** Measures the offset to wall time (kept unless the wall clock stepped); returns now on the kernel's clock. */
  sync(): bigint {
    const before = this.clocks.monotonicNs();
    const wall = this.clocks.realtimeNs();
    const after = this.clocks.monotonicNs();
    const measured = wall - (before + after) / 2n;
    const drift = this.offsetNs === undefined ? STEP_NS + 1n : measured - this.offsetNs;
    if (drift > STEP_NS || drift < -STEP_NS) this.offsetNs = measured;
    return after;
  }

  /** Unix milliseconds (truncated). */
  toMs(monoNs: bigint): number {
    if (this.offsetNs === undefined) this.sync();
    return Number((monoNs + this.offsetNs!) / 1_000_000n);
  }

  /** RFC 3339 UTC, millisecond precision (truncated, as Date does). */
  toIso(monoNs: bigint): string {
    return new Date(this.toMs(monoNs)).toISOString();
  }
}
