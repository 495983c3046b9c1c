/**
 * What has already been reported for each flow: the map holds cumulative per-CPU counts, and
 * each evidence record carries the growth since the previous one. Kept in a FlowTable keyed
 * by the raw flow_key (never written anywhere).
 */
import type { FlowCounts } from "../kernel/index.ts";
import { FlowTable, KEY_WORDS } from "./table.ts";

/** Growth since the last record. */
export interface Reported {
  packets: number;
  bytes: number;
  fragments: number;
}

export class Baseline {
  private readonly table = new FlowTable();
  private generation = 0;

  get size(): number {
    return this.table.size;
  }

  /** Starts a collection: flows not `seen` in it are forgotten by `endCollection`. */
  beginCollection(): void {
    this.generation = (this.generation + 1) >>> 0 || 1;
  }

  /**
   * Marks the flow at words[at..] as still in the map, and says whether it is exactly as it
   * was reported: the same packets and the same last packet (so the same entry).
   */
  unchanged(words: Uint32Array, at: number, packets: number, lastSeenNs: number): boolean {
    const s = this.table.find(words, at);
    if (s < 0) return false;
    this.table.gen[s] = this.generation;
    return this.table.packets[s] === packets && this.table.lastSeen[s] === lastSeenNs;
  }

  /**
   * Growth of a flow since it was last reported. An entry with another first_seen, or with
   * counts below the baseline, is one the kernel made anew (evicted, or deleted by someone
   * else, then seen again), whatever its count: all of its counts are growth.
   */
  delta(rawKey: Uint8Array, now: FlowCounts): Reported {
    const s = this.table.find(words(rawKey), 0);
    const packets = Number(now.packets), bytes = Number(now.bytes);
    const fresh = s < 0 || packets < this.table.packets[s]! || Number(now.firstSeenNs) !== this.table.firstSeen[s];
    if (fresh) return { packets, bytes, fragments: now.fragments };
    return { packets: packets - this.table.packets[s]!, bytes: bytes - this.table.bytes[s]!, fragments: now.fragments - this.table.fragments[s]! };
  }

  /** The flow's records up to `now` are on disk. */
  set(rawKey: Uint8Array, now: FlowCounts): void {
    const s = this.table.upsert(words(rawKey), 0);
    this.table.packets[s] = Number(now.packets);
    this.table.bytes[s] = Number(now.bytes);
    this.table.fragments[s] = now.fragments;
    this.table.firstSeen[s] = Number(now.firstSeenNs);
    this.table.lastSeen[s] = Number(now.lastSeenNs);
    this.table.gen[s] = this.generation;
  }

  forget(rawKey: Uint8Array): void {
    const s = this.table.find(words(rawKey), 0);
    if (s >= 0) this.table.remove(s);
  }

  /** Forgets flows no longer in the map, so the baseline cannot grow without bound. */
  endCollection(): number {
    return this.table.sweep(this.generation);
  }
}

function words(rawKey: Uint8Array): Uint32Array {
  // Keys copied out of a batch start at offset 0 of their own buffer, so they are aligned.
  return rawKey.byteOffset % 4 === 0 ? new Uint32Array(rawKey.buffer, rawKey.byteOffset, KEY_WORDS) : new Uint32Array(rawKey.slice().buffer);
}
