/**
 * What the collector knows of each flow, in a FlowTable keyed by the raw flow_key (never
 * written anywhere): the counts of its last record (what the evidence holds) and the counts
 * when the map was last read (what the metrics hold). Reading moves the second every cycle;
 * a record moves the first, only once it is on disk. Their difference is growth read but not
 * yet recorded, which the export policy (policy.ts) records at the active or idle timeout, at
 * shutdown, or every interval.
 */
import { decodeKey, flowNumbers, type Flow, type FlowBatch, type FlowCounts, type FlowNumbers } from "../kernel/index.ts";
import { nativeNewFlows, type NewFlowLibrary } from "../../ffi/scan.ts";
import type { BatchScan, ScanInto } from "./scan.ts";
import { FlowTable, KEY_WORDS, ROW, R_BYTES, R_EXPORTED_AT, R_FIRST_SEEN, R_FRAGMENTS, R_GEN, R_LAST_SEEN, R_PACKETS, R_READ_BYTES, R_READ_FRAGMENTS, R_READ_PACKETS, R_SPIKES, R_TCP_FLAGS, R_TIMING_FLAGS } from "./table.ts";
import { REASON_CODE, type ExportReason } from "./policy.ts";
import type { DueChunk } from "./chunk.ts";
import { PreexistingIntake } from "./preexisting.ts";

/** Zero counts: what a reused FlowNumbers starts from. */
export const ZERO: FlowCounts = { packets: 0n, bytes: 0n, firstSeenNs: 0n, lastSeenNs: 0n, tcpFlags: 0, fragments: 0, timingFlags: 0, spikes: 0 };

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

/** By reason code (policy.ts): 1 for the reasons of flows still in the map (active, interval, shutdown). */
const LIVE = new Uint8Array(8);
LIVE[REASON_CODE.active] = LIVE[REASON_CODE.interval] = LIVE[REASON_CODE.shutdown] = 1;
/** LIVE as bits, for the native recordedRange. */
const LIVE_BITS = LIVE.reduce((bits, on, code) => (on ? bits | (1 << code) : bits), 0);

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

  /**
   * A flow already in the map at start (its key at words[at..], its counts read): counted before this run, so
   * recorded and read as it is. Returns its slot.
   */
  preexisting(words: Uint32Array, at: number, c: FlowNumbers, nowNs: number): number {
    const s = this.table.upsert(words, at);
    this.read(s, c);
    this.recordedAsRead(s, nowNs);
    return s;
  }

  /** Slot s's read counts as its recorded ones, recorded at nowNs: what a flow counted before this run is. */
  private recordedAsRead(s: number, nowNs: number): void {
    const row = this.table.row, r = s * ROW;
    row[r + R_PACKETS] = row[r + R_READ_PACKETS]!;
    row[r + R_BYTES] = row[r + R_READ_BYTES]!;
    row[r + R_FRAGMENTS] = row[r + R_READ_FRAGMENTS]!;
    row[r + R_EXPORTED_AT] = nowNs;
  }

  /**
   * `preexisting` for every flow of batch b (their slots to hints[at..at + b.n)), after room for all of them is
   * made in one rebuild at most (hints[0..at) moved with their flows); adds their counts to sums[0] (packets) and
   * sums[1] (bytes). With the native library (`lib`), asm/flow_new.asm inserts them (preexisting.ts) and only the
   * four fields of "recorded as read at the start" are written here; without it (lib null), `preexisting` one by
   * one, its oracle (test/collector/start-native.test.ts). Both leave the same table, slot for slot. Call it
   * while holdHints is on.
   */
  preexistingBatch(b: FlowBatch, hints: Int32Array, at: number, nowNs: number, sums: Float64Array, lib: NewFlowLibrary | null = nativeNewFlows() ?? null): void {
    const t = this.table, epoch = t.epoch;
    t.reserve(b.n);
    this.held(epoch, hints, at);
    if (!lib) {
      const c = (this.counts ??= flowNumbers(ZERO));
      for (let i = 0; i < b.n; i++) {
        b.countsInto(i, c);
        hints[at + i] = this.preexisting(b.keyWords, i * KEY_WORDS, c, nowNs); // no rebuild: there is room
        sums[0] += c.packets;
        sums[1] += c.bytes;
      }
      return;
    }
    const intake = (this.intake ??= new PreexistingIntake());
    intake.take(lib, b, hints, at, t, this.generation);
    const row = t.row, again = intake.index, slow = intake.slow;
    let packets = sums[0]!, bytes = sums[1]!;
    for (let i = 0, k = 0; i < b.n; i++) {
      if (k < slow && again[k] === i) { k++; continue; } // a key read twice: its later counts, below, in batch order
      const s = hints[at + i]!;
      this.recordedAsRead(s, nowNs);
      packets += row[s * ROW + R_PACKETS]!;
      bytes += row[s * ROW + R_BYTES]!;
    }
    if (slow > 0) {
      const c = (this.counts ??= flowNumbers(ZERO));
      for (let k = 0; k < slow; k++) {
        const i = again[k]!;
        b.countsInto(i, c);
        hints[at + i] = this.preexisting(b.keyWords, i * KEY_WORDS, c, nowNs);
        packets += c.packets;
        bytes += c.bytes;
      }
    }
    sums[0] = packets;
    sums[1] = bytes;
  }

  private counts: FlowNumbers | undefined;
  private intake: PreexistingIntake | undefined;

  /**
   * Keeps the hints preexistingBatch writes at their flows across the table's rebuilds, while `on` (the
   * collector's start).
   */
  holdHints(on: boolean): void {
    this.table.trackMoves(on);
  }

  /** While holdHints is on: hints[0..n) still name their flows' slots if the table rebuilt since `epoch`. */
  private held(epoch: number, hints: Int32Array, n: number): void {
    if (epoch !== this.table.epoch) this.table.remap(hints, n);
  }

  /** The slot of the flow at words[at..] (inserted when new), marked seen in this collection. */
  seen(words: Uint32Array, at: number): number {
    const s = this.table.upsert(words, at);
    this.table.row[s * ROW + R_GEN] = this.generation;
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
    t.row[hint * ROW + R_GEN] = this.generation;
    return hint;
  }

  /**
   * The batch scan's fast path over batch b from flow `from` (scan.ts), on this collection's table and
   * generation, its DUE flows added to `into`'s chunk as it goes; returns the flow it stopped before.
   */
  scan(scan: BatchScan, b: FlowBatch, order: Int32Array, pos0: number, from = 0, into?: ScanInto): number {
    const next = scan.run(b, order, pos0, this.table, this.generation, from, into);
    scan.takeNew(b, order, pos0, this.table, this.generation);
    return next;
  }

  /**
   * The slot of a flow the scan kept at `hint` (already marked seen there) while the table's
   * epoch was `epoch`: still `hint` unless a slow flow's insert earlier in the batch rebuilt the
   * table (table.ts's `epoch`), then looked up again.
   */
  slotOf(hint: number, epoch: number, words: Uint32Array, at: number): number {
    return epoch === this.table.epoch ? hint : this.seenAt(hint, words, at);
  }

  /** The table's epoch (table.ts): while it stays the same, no flow has moved from its slot. */
  get epoch(): number {
    return this.table.epoch;
  }

  /** Whether the last `seen` inserted its flow. */
  get inserted(): boolean {
    return this.table.inserted;
  }

  /** Whether the flow is exactly as read last time: the same packets and the same last packet (so the same entry). */
  unchanged(slot: number, packets: number, lastSeenNs: number): boolean {
    return this.table.row[slot * ROW + R_READ_PACKETS] === packets && this.table.row[slot * ROW + R_LAST_SEEN] === lastSeenNs;
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
    if (!inserted && (packets < t.row[slot * ROW + R_READ_PACKETS]! || first !== t.row[slot * ROW + R_FIRST_SEEN])) {
      const old = this.unrecorded(slot, "recreated");
      if (old) closeOld(old);
      t.clear(slot);
      t.row[slot * ROW + R_GEN] = this.generation;
      t.row[slot * ROW + R_EXPORTED_AT] = first;
    } else if (inserted) {
      t.row[slot * ROW + R_EXPORTED_AT] = first; // the active timeout runs from the flow's start
    }
    const grown = { packets: packets - t.row[slot * ROW + R_READ_PACKETS]!, bytes: bytes - t.row[slot * ROW + R_READ_BYTES]! };
    this.read(slot, c);
    return grown;
  }

  /** Packets read of the flow but in no record yet. */
  pending(slot: number): number {
    return this.table.row[slot * ROW + R_READ_PACKETS]! - this.table.row[slot * ROW + R_PACKETS]!;
  }

  /** Kernel ns of the flow's last record (its first_seen before one). */
  exportedAt(slot: number): number {
    return this.table.row[slot * ROW + R_EXPORTED_AT]!;
  }

  /** The growth since the last record, up to the last read. */
  delta(slot: number): Reported {
    const t = this.table;
    return { packets: t.row[slot * ROW + R_READ_PACKETS]! - t.row[slot * ROW + R_PACKETS]!, bytes: t.row[slot * ROW + R_READ_BYTES]! - t.row[slot * ROW + R_BYTES]!, fragments: t.row[slot * ROW + R_READ_FRAGMENTS]! - t.row[slot * ROW + R_FRAGMENTS]! };
  }

  /** Adds the flow in `slot`, as last read, to `chunk` as a record due for `reason`. */
  due(chunk: DueChunk, slot: number, reason: ExportReason): void {
    chunk.addSlot(this.table, slot, reason);
  }

  /** `due` for each of slots[from..to) (a run of the scan's DUE hand-backs, at slots that hold at the table's epoch), in one call. */
  dueRun(chunk: DueChunk, slots: Int32Array, from: number, to: number, reason: ExportReason): void {
    chunk.addSlots(this.table, slots, from, to, reason);
  }

  /**
   * Records from..to of `chunk` are on disk: each flow still in the map (reason active, interval
   * or shutdown) now has a record of the counts the chunk holds. While the table's epoch is the
   * one the chunk was filled in (no rebuild since: table.ts's `epoch`), each such flow is still at
   * the slot the chunk holds; otherwise it is looked up again (at that slot first). A flow gone
   * from the table since is left alone.
   */
  recordedRange(chunk: DueChunk, from: number, to: number, nowNs: number, lib: NewFlowLibrary | null = nativeNewFlows() ?? null): void {
    const t = this.table, row = t.row, kept = chunk.epoch === t.epoch, codes = chunk.reasonCode;
    if (kept && lib) {
      // One native call, not a loop per record run uncompiled at the stop (this loop is its oracle: lib null).
      lib.recordedRows({ reasonCode: codes, slot: chunk.slot, packets: chunk.packets, bytes: chunk.bytes, fragments: chunk.fragments, row }, from, to, LIVE_BITS, nowNs);
      return;
    }
    const slot = chunk.slot, packets = chunk.packets, bytes = chunk.bytes, fragments = chunk.fragments;
    for (let i = from; i < to; i++) {
      if (!LIVE[codes[i]!]) continue; // idle, recreated, evicted: gone from the table
      const s = kept ? slot[i]! : t.findFrom(slot[i]!, chunk.keyWords, i * KEY_WORDS);
      if (s < 0) continue;
      const r = s * ROW;
      row[r + R_PACKETS] = packets[i]!;
      row[r + R_BYTES] = bytes[i]!;
      row[r + R_FRAGMENTS] = fragments[i]!;
      row[r + R_EXPORTED_AT] = nowNs;
    }
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
    this.table.sweep(this.generation, (s) => {
      const g = this.unrecorded(s, "evicted");
      if (g) out.push(g);
    });
    return out;
  }

  /** The record of the growth of slot's entry as last read, if any is unrecorded. */
  private unrecorded(s: number, reason: ExportReason): Growth | undefined {
    const t = this.table;
    if (t.row[s * ROW + R_READ_PACKETS]! <= t.row[s * ROW + R_PACKETS]!) return undefined;
    const rawKey = t.keyBytes(s);
    const counts: FlowCounts = {
      packets: BigInt(t.row[s * ROW + R_READ_PACKETS]!), bytes: BigInt(t.row[s * ROW + R_READ_BYTES]!), firstSeenNs: BigInt(t.row[s * ROW + R_FIRST_SEEN]!), lastSeenNs: BigInt(t.row[s * ROW + R_LAST_SEEN]!),
      tcpFlags: t.row[s * ROW + R_TCP_FLAGS]!, fragments: t.row[s * ROW + R_READ_FRAGMENTS]!, timingFlags: t.row[s * ROW + R_TIMING_FLAGS]!, spikes: t.row[s * ROW + R_SPIKES]!,
    };
    return { f: { key: decodeKey(rawKey, 0), rawKey, counts }, d: this.delta(s), reason };
  }

  private read(s: number, c: FlowNumbers): void {
    const t = this.table;
    t.row[s * ROW + R_READ_PACKETS] = c.packets;
    t.row[s * ROW + R_READ_BYTES] = c.bytes;
    t.row[s * ROW + R_READ_FRAGMENTS] = c.fragments;
    t.row[s * ROW + R_FIRST_SEEN] = c.firstSeenNs;
    t.row[s * ROW + R_LAST_SEEN] = c.lastSeenNs;
    t.row[s * ROW + R_TCP_FLAGS] = c.tcpFlags;
    t.row[s * ROW + R_TIMING_FLAGS] = c.timingFlags;
    t.row[s * ROW + R_SPIKES] = c.spikes;
    t.row[s * ROW + R_GEN] = this.generation;
  }
}

function words(rawKey: Uint8Array): Uint32Array {
  // Keys copied out of a batch start at offset 0 of their own buffer, so they are aligned.
  return rawKey.byteOffset % 4 === 0 ? new Uint32Array(rawKey.buffer, rawKey.byteOffset, KEY_WORDS) : new Uint32Array(rawKey.slice().buffer);
}
