/**
 * Kernel timestamps are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns); evidence carries wall
 * time. process.hrtime reads the same monotonic clock, so one offset, taken at start, converts.
 */
export class KernelClock {
  private readonly offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

  nowNs(): bigint {
    return process.hrtime.bigint();
  }

  /** RFC 3339 UTC, millisecond precision. */
  toIso(monoNs: bigint): string {
    return new Date(Number((monoNs + this.offsetNs) / 1_000_000n)).toISOString();
  }
}
