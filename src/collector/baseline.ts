/**
 * What the collector knows of each flow, in a FlowTable keyed by the raw flow_key (never
 * written anywhere): the counts of its last record (what the evidence holds) and the counts
 * when the map was last read (what the metrics hold). Reading moves the second every cycle;
 * a record moves the first, only once it is on disk. Their difference is growth read but not
 * yet recorded, which the export policy (policy.ts) records at the active or idle timeout, at
 * shutdown, or every interval.
 */
import { decodeKey, flowNumbers, type Flow, type FlowCounts, type FlowNumbers } from "../kernel/index.ts";
import { FlowTable, KEY_WORDS } from "./table.ts";
import type { ExportReason } from "./policy.ts";
import type { DueChunk } from "./chunk.ts";

/** Growth of a flow that one record carries. */
export interface Reported {
  packets: number;
  bytes: number;
  fragments: number;
}

/** A flow record to write: the flow as read, its growth since its last record, and why now. */
export interface Growth {
  f: Flow;
  d: Reported;
  reason: ExportReason;
  /** The flow's table slot when it was read (tried first when its record is on disk). */
  slot?: number;
}

export class Baseline {
  private readonly table = new FlowTable();
  private generation = 0;

  get size(): number {
    return this.table.size;
  }

  /** Starts a collection: flows not `seen` in it are "unseen" at its end. */
  beginCollection(): void {
    this.generation = (this.generation + 1) >>> 0 || 1;
  }

  /** A flow already in the map at start (its key at words[at..], its counts read): counted before this run, so recorded and read as it is. */
  preexisting(words: Uint32Array, at: number, c: FlowNumbers, nowNs: number): void {
    const t = this.table, s = t.upsert(words, at);
    this.read(s, c);
    t.packets[s] = t.readPackets[s]!;
    t.bytes[s] = t.readBytes[s]!;
    t.fragments[s] = t.readFragments[s]!;
    t.exportedAt[s] = nowNs;
  }

  /** The slot of the flow at words[at..] (inserted when new), marked seen in this collection. */
  seen(words: Uint32Array, at: number): number {
    const s = this.table.upsert(words, at);
    this.table.gen[s] = this.generation;
    return s;
  }

  /**
   * `seen`, trying slot `hint` first (where the flow was at this position of the last read: a
   * map that did not change is read in the same order, so most flows cost a key comparison
   * and no hash).
   */
  seenAt(hint: number, words: Uint32Array, at: number): number {
    const t = this.table;
    if (!t.holds(hint, words, at)) return this.seen(words, at);
    t.inserted = false;
    t.gen[hint] = this.generation;
    return hint;
  }

  /** Whether the last `seen` inserted its flow. */
  get inserted(): boolean {
    return this.table.inserted;
  }

  /** Whether the flow is exactly as read last time: the same packets and the same last packet (so the same entry). */
  unchanged(slot: number, packets: number, lastSeenNs: number): boolean {
    return this.table.readPackets[slot] === packets && this.table.lastSeen[slot] === lastSeenNs;
  }

  /**
   * Takes in what was read of the flow in `slot`; returns its growth since the previous read
   * (for the metrics). An entry with another first_seen, or with counts below the last read,
   * is one the kernel made anew (evicted, or deleted by someone else, then seen again): all of
   * its counts are growth, and what the old entry grew but no record holds is handed to
   * `closeOld` first (its record, reason "recreated").
   */
  observe(slot: number, inserted: boolean, c: FlowNumbers, closeOld: (g: Growth) => void): { packets: number; bytes: number } {
    const t = this.table;
    const packets = c.packets, bytes = c.bytes, first = c.firstSeenNs;
    if (!inserted && (packets < t.readPackets[slot]! || first !== t.firstSeen[slot])) {
      const old = this.unrecorded(slot, "recreated");
      if (old) closeOld(old);
      t.clear(slot);
      t.gen[slot] = this.generation;
      t.exportedAt[slot] = first;
    } else if (inserted) {
      t.exportedAt[slot] = first; // the active timeout runs from the flow's start
    }
    const grown = { packets: packets - t.readPackets[slot]!, bytes: bytes - t.readBytes[slot]! };
    this.read(slot, c);
    return grown;
  }

  /** Packets read of the flow but in no record yet. */
  pending(slot: number): number {
    return this.table.readPackets[slot]! - this.table.packets[slot]!;
  }

  /** Kernel ns of the flow's last record (its first_seen before one). */
  exportedAt(slot: number): number {
    return this.table.exportedAt[slot]!;
  }

  /** The growth since the last record, up to the last read. */
  delta(slot: number): Reported {
    const t = this.table;
    return { packets: t.readPackets[slot]! - t.packets[slot]!, bytes: t.readBytes[slot]! - t.bytes[slot]!, fragments: t.readFragments[slot]! - t.fragments[slot]! };
  }

  /** Adds the flow in `slot`, as last read, to `chunk` as a record due for `reason`. */
  due(chunk: DueChunk, slot: number, reason: ExportReason): void {
    chunk.addSlot(this.table, slot, reason);
  }

  /**
   * Record i of `chunk` is on disk: the flow (looked up at its slot first) now has a record of
   * the counts the chunk holds. A flow gone from the table since (idle) is left alone.
   */
  recordedFrom(chunk: DueChunk, i: number, nowNs: number): void {
    const t = this.table, s = t.findFrom(chunk.slot[i]!, chunk.keyWords, i * KEY_WORDS);
    if (s < 0) return;
    t.packets[s] = chunk.packets[i]!;
    t.bytes[s] = chunk.bytes[i]!;
    t.fragments[s] = chunk.fragments[i]!;
    t.exportedAt[s] = nowNs;
  }

  /**
   * A flow removed from the map by the collector (`last`: its final counts, null if it was gone
   * already): its final record's growth, and the read growth for the metrics; forgotten here.
   */
  final(rawKey: Uint8Array, last: Flow | null, closeOld: (g: Growth) => void): { record?: Growth; grown: { packets: number; bytes: number } } {
    const t = this.table;
    let s = t.find(words(rawKey), 0);
    if (!last) {
      const old = s >= 0 ? this.unrecorded(s, "evicted") : undefined;
      if (s >= 0) t.remove(s);
      return { record: old, grown: { packets: 0, bytes: 0 } };
    }
    const inserted = s < 0;
    if (inserted) s = t.upsert(words(rawKey), 0);
    const grown = this.observe(s, inserted, flowNumbers(last.counts), closeOld);
    const d = this.delta(s);
    t.remove(s);
    return { record: d.packets > 0 ? { f: last, d, reason: "idle" } : undefined, grown };
  }

  /**
   * Ends a collection: flows not seen in it left the map without the collector removing them
   * (LRU eviction, another tool): what they grew but no record holds is returned (reason
   * "evicted"), and they are forgotten, so the table cannot grow without bound.
   */
  endCollection(): Growth[] {
    const out: Growth[] = [];
    for (const s of this.table.unseen(this.generation)) {
      const g = this.unrecorded(s, "evicted");
      if (g) out.push(g);
    }
    this.table.sweep(this.generation);
    return out;
  }

  /** The record of the growth of slot's entry as last read, if any is unrecorded. */
  private unrecorded(s: number, reason: ExportReason): Growth | undefined {
    const t = this.table;
    if (t.readPackets[s]! <= t.packets[s]!) return undefined;
    const rawKey = t.keyBytes(s);
    const counts: FlowCounts = {
      packets: BigInt(t.readPackets[s]!), bytes: BigInt(t.readBytes[s]!), firstSeenNs: BigInt(t.firstSeen[s]!), lastSeenNs: BigInt(t.lastSeen[s]!),
      tcpFlags: t.tcpFlags[s]!, fragments: t.readFragments[s]!, timingFlags: t.timingFlags[s]!, spikes: t.spikes[s]!,
    };
    return { f: { key: decodeKey(rawKey, 0), rawKey, counts }, d: this.delta(s), reason };
  }

  private read(s: number, c: FlowNumbers): void {
    const t = this.table;
    t.readPackets[s] = c.packets;
    t.readBytes[s] = c.bytes;
    t.readFragments[s] = c.fragments;
    t.firstSeen[s] = c.firstSeenNs;
    t.lastSeen[s] = c.lastSeenNs;
    t.tcpFlags[s] = c.tcpFlags;
    t.timingFlags[s] = c.timingFlags;
    t.spikes[s] = c.spikes;
    t.gen[s] = this.generation;
  }
}

function words(rawKey: Uint8Array): Uint32Array {
  // Keys copied out of a batch start at offset 0 of their own buffer, so they are aligned.
  return rawKey.byteOffset % 4 === 0 ? new Uint32Array(rawKey.buffer, rawKey.byteOffset, KEY_WORDS) : new Uint32Array(rawKey.slice().buffer);
}
