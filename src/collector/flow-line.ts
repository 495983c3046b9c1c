/**
 * The repeating parts of a flow record's canonical JSON that chunk-line.ts's ChunkWriter writes
 * from: RFC 3339 times of kernel timestamps, and values that repeat across records (interface
 * names, reasons) quoted and escaped once. The records are `canonicalize(flowRecord(...))`,
 * byte for byte (test/collector/chunk-line.test.ts), without an object, a sort or a Date per
 * record.
 */
import { jsonString } from "../log/index.ts";
import type { KernelClock } from "./clock.ts";

/** The milliseconds of a time with the end of its string, "000Z\"" to "999Z\"". */
const MILLIS = Array.from({ length: 1000 }, (_, m) => `${String(m).padStart(3, "0")}Z"`);

/** RFC 3339 times of kernel timestamps, written from a per-second prefix (toISOString once a second, not twice a record). */
export class IsoTimes {
  private second = NaN;
  private prefix = "";

  constructor(readonly clock: KernelClock) {}

  /** A kernel timestamp held as a Number (KernelClock.msOf), quoted: what `JSON.stringify(clock.toIso(BigInt(monoNs)))` writes. */
  text(monoNs: number): string {
    const ms = this.clock.msOf(monoNs);
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = `"${new Date(second * 1000).toISOString().slice(0, 20)}`; // "YYYY-MM-DDTHH:MM:SS.
    }
    return this.prefix + MILLIS[ms - second * 1000]!;
  }
}

/** Member values that repeat across records (interface names by ifindex, reasons), as JSON strings made once. */
export class StringCache {
  private readonly cache = new Map<string, string>();

  text(s: string): string {
    let t = this.cache.get(s);
    if (t === undefined) this.cache.set(s, (t = jsonString(s)));
    return t;
  }
}
