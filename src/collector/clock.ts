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
/** A reading whose two monotonic reads are closer than this is trusted to see a step. */
const TIGHT_NS = 100_000n;
const TRIES = 5;
/** msOf adds the offset's rest (below 1e6 ns) directly below this: the sum stays below 2^53, exact. */
const FAST_BELOW = 2 ** 53 - 1_000_000;

export interface Clocks {
  monotonicNs: () => bigint;
  realtimeNs: () => bigint;
}

export class KernelClock {
  private offsetNs: bigint | undefined;
  /** The offset split as floor(offset / 1 ms) and the rest (0 to 999,999 ns), for msOf's exact Number arithmetic. */
  private offsetMs = 0;
  private offsetRestNs = 0;

  /** The clocks are the system's; a test may pass its own to step the wall clock. */
  constructor(private readonly clocks: Clocks = { monotonicNs, realtimeNs }) {}

  /** Measures the offset to wall time (kept unless the wall clock stepped); returns now on the kernel's clock. */
  sync(): bigint {
    // The tightest of a few readings: a thread preempted between its two monotonic reads (a
    // loaded host) measures an offset off by up to the gap, which is no step of the wall clock.
    let best: { offset: bigint; window: bigint; after: bigint } | undefined;
    for (let i = 0; i < TRIES; i++) {
      const before = this.clocks.monotonicNs();
      const wall = this.clocks.realtimeNs();
      const after = this.clocks.monotonicNs();
      const window = after - before;
      if (!best || window < best.window) best = { offset: wall - (before + after) / 2n, window, after };
      if (window < TIGHT_NS) break;
    }
    const drift = this.offsetNs === undefined ? STEP_NS + 1n : best!.offset - this.offsetNs;
    // A reading looser than TIGHT_NS cannot tell a step from its own error: the offset stays.
    if ((drift > STEP_NS || drift < -STEP_NS) && (this.offsetNs === undefined || best!.window < TIGHT_NS)) this.setOffset(best!.offset);
    return best!.after;
  }

  /** Unix milliseconds (truncated). */
  toMs(monoNs: bigint): number {
    if (this.offsetNs === undefined) this.sync();
    return Number((monoNs + this.offsetNs!) / 1_000_000n);
  }

  /**
   * toMs of a kernel timestamp held as a Number (the collector's columns), without a BigInt:
   * the same result as toMs(BigInt(monoNs)) for every whole monoNs in [0, 2^63) (a host up
   * longer than 2^53 ns, 104 days, holds times that are whole but no longer "safe" integers).
   * Below FAST_BELOW, monoNs + rest stays below 2^53 and is exact, and a correctly rounded
   * division by 1e6 never crosses a whole number there. Above it, monoNs is split as
   * hi * 2^32 + lo (both exact), and 2^32 ns = 4294 ms + 967,296 ns: every step stays below 2^52.
   * asm/flow_lines.asm computes the same in 64-bit integers.
   */
  msOf(monoNs: number): number {
    if (this.offsetNs === undefined) this.sync();
    let x: number, whole: number;
    if (monoNs < FAST_BELOW) {
      x = monoNs + this.offsetRestNs;
      whole = this.offsetMs;
    } else {
      const hi = Math.floor(monoNs / 2 ** 32), lo = monoNs - hi * 2 ** 32;
      x = hi * 967_296 + lo + this.offsetRestNs;
      whole = this.offsetMs + hi * 4294;
    }
    let q = Math.floor(x / 1e6);
    const r = x - q * 1e6;
    if (r < 0) q--;
    else if (r >= 1e6) q++;
    return whole + q; // toMs truncates toward zero: the same as floor for wall times after 1970
  }

  /** msOf's offset, for code that does its arithmetic elsewhere (asm/flow_lines.asm): f[0] = the whole ms, f[1] = the rest in ns. */
  msOffset(f: Float64Array): void {
    if (this.offsetNs === undefined) this.sync();
    f[0] = this.offsetMs;
    f[1] = this.offsetRestNs;
  }

  private setOffset(offset: bigint): void {
    this.offsetNs = offset;
    let ms = offset / 1_000_000n, rest = offset % 1_000_000n;
    if (rest < 0n) { ms -= 1n; rest += 1_000_000n; }
    this.offsetMs = Number(ms);
    this.offsetRestNs = Number(rest);
  }

  /** RFC 3339 UTC, millisecond precision (truncated, as Date does). */
  toIso(monoNs: bigint): string {
    return new Date(this.toMs(monoNs)).toISOString();
  }
}
