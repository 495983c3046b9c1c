/**
 * What has already been reported for each flow: the map holds cumulative per-CPU counts, and
 * each evidence record carries the growth since the previous one. Keys are the raw flow_key
 * bytes in hex (never written anywhere).
 */
import type { FlowCounts } from "../kernel/index.ts";

export interface Reported {
  packets: bigint;
  bytes: bigint;
  fragments: number;
}

export class Baseline {
  private readonly seen = new Map<string, Reported>();

  get size(): number {
    return this.seen.size;
  }

  /** Growth of a flow since it was last reported; zero for a flow reported as it is. */
  delta(key: string, now: FlowCounts): Reported {
    const was = this.seen.get(key) ?? { packets: 0n, bytes: 0n, fragments: 0 };
    return { packets: now.packets - was.packets, bytes: now.bytes - was.bytes, fragments: now.fragments - was.fragments };
  }

  set(key: string, now: FlowCounts): void {
    this.seen.set(key, { packets: now.packets, bytes: now.bytes, fragments: now.fragments });
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  /** Keys no longer in the map (removed by someone else): forgotten so the baseline cannot grow without bound. */
  retain(present: Set<string>): void {
    for (const k of this.seen.keys()) if (!present.has(k)) this.seen.delete(k);
  }
}
