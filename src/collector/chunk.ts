/**
 * A chunk of flow records to write, as columns (no object per flow): each due flow's raw key,
 * its table slot, why it is due, its growth since its last record and its counts as read.
 * The collector fills one chunk as it reads the map and writes it in one append; a flow is
 * decoded into objects only for the rare paths (records of entries gone from the map, the
 * export hook, the masker's keyed tokens and seals).
 *
 * Why columns: at a million flows a cycle, a Flow object per record (a decoded key with two
 * address copies, BigInt counts) and a masked-address object cost more than encoding the
 * record itself.
 */
import { decodeKey, FLOW_KEY, type Flow, type FlowKey } from "../kernel/index.ts";
import { nativeNewFlows, type DueRowArrays, type NewFlowLibrary } from "../../ffi/scan.ts";
import type { Growth } from "./baseline.ts";
import { REASON_CODE, REASONS, type ExportReason } from "./policy.ts";
import { KEY_WORDS, ROW, R_BYTES, R_FIRST_SEEN, R_FRAGMENTS, R_LAST_SEEN, R_PACKETS, R_READ_BYTES, R_READ_FRAGMENTS, R_READ_PACKETS, R_SPIKES, R_TCP_FLAGS, R_TIMING_FLAGS, type FlowTable } from "./table.ts";

export class DueChunk {
  n = 0;
  readonly keys: Uint8Array;
  readonly keyWords: Uint32Array;
  readonly slot: Int32Array;
  /** Why each record is due, as policy.ts's REASON_CODE: the column every writer writes (the native scan too). */
  readonly reasonCode: Uint8Array;
  /** reasonCode's names, made when read (`reason`): names[0..named) match reasonCode. */
  private readonly names: ExportReason[];
  private named = 0;
  /** Growth this record carries. */
  readonly dPackets: Float64Array;
  readonly dBytes: Float64Array;
  readonly dFragments: Float64Array;
  /** The entry's counts as read (its running totals, times, flags). */
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly fragments: Float64Array;
  readonly firstSeen: Float64Array;
  readonly lastSeen: Float64Array;
  readonly tcpFlags: Uint32Array;
  readonly timingFlags: Uint32Array;
  readonly spikes: Uint32Array;
  /**
   * The table's epoch (table.ts) at every addSlot of this chunk, or -1 when it changed between
   * two of them: while it still equals the table's, every `slot` still holds its flow.
   */
  epoch = -1;

  constructor(readonly capacity: number) {
    this.keys = new Uint8Array(capacity * FLOW_KEY.size);
    this.keyWords = new Uint32Array(this.keys.buffer);
    this.slot = new Int32Array(capacity);
    this.names = new Array<ExportReason>(capacity).fill("interval");
    this.reasonCode = new Uint8Array(capacity).fill(REASON_CODE.interval);
    this.dPackets = new Float64Array(capacity);
    this.dBytes = new Float64Array(capacity);
    this.dFragments = new Float64Array(capacity);
    this.packets = new Float64Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.fragments = new Float64Array(capacity);
    this.firstSeen = new Float64Array(capacity);
    this.lastSeen = new Float64Array(capacity);
    this.tcpFlags = new Uint32Array(capacity);
    this.timingFlags = new Uint32Array(capacity);
    this.spikes = new Uint32Array(capacity);
  }

  get full(): boolean {
    return this.n >= this.capacity;
  }

  /** Why each record is due (reasonCode's names; for the paths that read records one by one). */
  get reason(): readonly ExportReason[] {
    const names = this.names, codes = this.reasonCode;
    for (let i = this.named; i < this.n; i++) names[i] = REASONS[codes[i]!]!;
    if (this.named < this.n) this.named = this.n;
    return names;
  }

  /** Adds records from..to's reasons to `into` (by name). */
  countReasons(from: number, to: number, into: Partial<Record<string, number>>): void {
    const codes = this.reasonCode;
    for (let i = from; i < to; ) {
      const code = codes[i]!;
      let end = i + 1;
      while (end < to && codes[end] === code) end++;
      const name = REASONS[code]!;
      into[name] = (into[name] ?? 0) + end - i;
      i = end;
    }
  }

  /**
   * Readies the chunk for records written from `n` on by the native scan (asm/flow_scan.asm writes
   * what addSlot writes), from slots of `t` at its epoch now: the epoch rule of addSlot, once for them all.
   */
  beginRows(t: FlowTable): void {
    if (this.n === 0) this.epoch = t.epoch;
    else if (this.epoch !== t.epoch) this.epoch = -1;
    if (this.named > this.n) this.named = this.n;
  }

  /**
   * The flow in table slot `s` as last read, due for `reason`: growth since its last record.
   * Written with every array and row offset read once (this runs once per record, at shutdown
   * through code the JIT has not compiled yet).
   */
  addSlot(t: FlowTable, s: number, reason: ExportReason): void {
    const i = this.n++;
    if (i === 0) this.epoch = t.epoch;
    else if (this.epoch !== t.epoch) this.epoch = -1;
    const kw = this.keyWords, tk = t.keys, k = i * KEY_WORDS, o = s * KEY_WORDS;
    kw[k] = tk[o]!; kw[k + 1] = tk[o + 1]!; kw[k + 2] = tk[o + 2]!; kw[k + 3] = tk[o + 3]!;
    kw[k + 4] = tk[o + 4]!; kw[k + 5] = tk[o + 5]!; kw[k + 6] = tk[o + 6]!; kw[k + 7] = tk[o + 7]!;
    kw[k + 8] = tk[o + 8]!; kw[k + 9] = tk[o + 9]!; kw[k + 10] = tk[o + 10]!; kw[k + 11] = tk[o + 11]!;
    this.slot[i] = s;
    this.reasonCode[i] = REASON_CODE[reason];
    if (this.named > i) this.named = i;
    const row = t.row, r = s * ROW;
    const packets = row[r + R_READ_PACKETS]!, bytes = row[r + R_READ_BYTES]!, fragments = row[r + R_READ_FRAGMENTS]!;
    this.dPackets[i] = packets - row[r + R_PACKETS]!;
    this.dBytes[i] = bytes - row[r + R_BYTES]!;
    this.dFragments[i] = fragments - row[r + R_FRAGMENTS]!;
    this.packets[i] = packets;
    this.bytes[i] = bytes;
    this.fragments[i] = fragments;
    this.firstSeen[i] = row[r + R_FIRST_SEEN]!;
    this.lastSeen[i] = row[r + R_LAST_SEEN]!;
    this.tcpFlags[i] = row[r + R_TCP_FLAGS]!;
    this.timingFlags[i] = row[r + R_TIMING_FLAGS]!;
    this.spikes[i] = row[r + R_SPIKES]!;
  }

  /**
   * addSlot for each of slots[from..to) in order, all due for `reason` (a run of the scan's DUE
   * hand-backs): one call for the run, each row copied in one loop. A stop's final collection
   * writes thousands of records through here before the JIT compiled it, where three calls per
   * record cost more than the copy; with the native library (`native`: the new-flow routines by default; null: this loop) the
   * copy is asm/flow_new.asm's ato_due_rows (the loop below, interpreted, was 1-3 µs a record).
   */
  addSlots(t: FlowTable, slots: Int32Array, from: number, to: number, reason: ExportReason, native: NewFlowLibrary | null = nativeNewFlows() ?? null): void {
    if (from >= to) return;
    if (this.n === 0) this.epoch = t.epoch;
    else if (this.epoch !== t.epoch) this.epoch = -1;
    if (native) {
      const a = (this.rowArrays ??= { ...this.columns(), slots, tableKeys: t.keys, row: t.row });
      a.slots = slots; a.tableKeys = t.keys; a.row = t.row;
      native.dueRows(a, from, to, this.n, REASON_CODE[reason]);
      if (this.named > this.n) this.named = this.n;
      this.n += to - from;
      return;
    }
    const kw = this.keyWords, tk = t.keys, row = t.row, code = REASON_CODE[reason];
    if (this.named > this.n) this.named = this.n;
    const slot = this.slot, reasonCode = this.reasonCode, dPackets = this.dPackets, dBytes = this.dBytes, dFragments = this.dFragments;
    const packetsOf = this.packets, bytesOf = this.bytes, fragmentsOf = this.fragments, firstSeen = this.firstSeen, lastSeen = this.lastSeen;
    const tcpFlags = this.tcpFlags, timingFlags = this.timingFlags, spikes = this.spikes;
    let i = this.n;
    for (let x = from; x < to; x++, i++) {
      const s = slots[x]!, k = i * KEY_WORDS, o = s * KEY_WORDS, r = s * ROW;
      kw[k] = tk[o]!; kw[k + 1] = tk[o + 1]!; kw[k + 2] = tk[o + 2]!; kw[k + 3] = tk[o + 3]!;
      kw[k + 4] = tk[o + 4]!; kw[k + 5] = tk[o + 5]!; kw[k + 6] = tk[o + 6]!; kw[k + 7] = tk[o + 7]!;
      kw[k + 8] = tk[o + 8]!; kw[k + 9] = tk[o + 9]!; kw[k + 10] = tk[o + 10]!; kw[k + 11] = tk[o + 11]!;
      slot[i] = s;
      reasonCode[i] = code;
      const packets = row[r + R_READ_PACKETS]!, bytes = row[r + R_READ_BYTES]!, fragments = row[r + R_READ_FRAGMENTS]!;
      dPackets[i] = packets - row[r + R_PACKETS]!;
      dBytes[i] = bytes - row[r + R_BYTES]!;
      dFragments[i] = fragments - row[r + R_FRAGMENTS]!;
      packetsOf[i] = packets;
      bytesOf[i] = bytes;
      fragmentsOf[i] = fragments;
      firstSeen[i] = row[r + R_FIRST_SEEN]!;
      lastSeen[i] = row[r + R_LAST_SEEN]!;
      tcpFlags[i] = row[r + R_TCP_FLAGS]!;
      timingFlags[i] = row[r + R_TIMING_FLAGS]!;
      spikes[i] = row[r + R_SPIKES]!;
    }
    this.n = i;
  }

  private rowArrays: DueRowArrays | undefined;

  /** The columns ato_due_rows writes. */
  private columns() {
    return {
      keyWords: this.keyWords, slot: this.slot, reasonCode: this.reasonCode, dPackets: this.dPackets, dBytes: this.dBytes, dFragments: this.dFragments,
      packets: this.packets, bytes: this.bytes, fragments: this.fragments, firstSeen: this.firstSeen, lastSeen: this.lastSeen,
      tcpFlags: this.tcpFlags, timingFlags: this.timingFlags, spikes: this.spikes,
    };
  }

  /** A record already made as an object (an entry gone from the map: idle, recreated, evicted). */
  addGrowth(g: Growth): void {
    const i = this.n++;
    this.epoch = -1; // its slot (if any) is from before the entry left the table
    this.keys.set(g.f.rawKey.subarray(0, FLOW_KEY.size), i * FLOW_KEY.size);
    const c = g.f.counts;
    this.slot[i] = g.slot ?? -1;
    this.reasonCode[i] = REASON_CODE[g.reason];
    if (this.named > i) this.named = i;
    this.dPackets[i] = g.d.packets;
    this.dBytes[i] = g.d.bytes;
    this.dFragments[i] = g.d.fragments;
    this.packets[i] = Number(c.packets);
    this.bytes[i] = Number(c.bytes);
    this.fragments[i] = c.fragments;
    this.firstSeen[i] = Number(c.firstSeenNs);
    this.lastSeen[i] = Number(c.lastSeenNs);
    this.tcpFlags[i] = c.tcpFlags;
    this.timingFlags[i] = c.timingFlags;
    this.spikes[i] = c.spikes;
  }

  // The key's fields, read in place from its little-endian words (bpf/xdp_audit.h's struct flow_key).
  ifindex(i: number): number { return this.keyWords[i * KEY_WORDS + (FLOW_KEY.ifindex >> 2)]!; }
  sport(i: number): number { return this.keyWords[i * KEY_WORDS + (FLOW_KEY.sport >> 2)]! & 0xffff; }
  dport(i: number): number { return this.keyWords[i * KEY_WORDS + (FLOW_KEY.dport >> 2)]! >>> 16; }
  family(i: number): 4 | 6 { return this.keys[i * FLOW_KEY.size + FLOW_KEY.family] === 6 ? 6 : 4; }
  proto(i: number): number { return this.keys[i * FLOW_KEY.size + FLOW_KEY.proto]!; }

  /** Flow i's key decoded (its own copies of the addresses). */
  key(i: number): FlowKey {
    return decodeKey(this.keys, i * FLOW_KEY.size);
  }

  /** Flow i as objects (BigInt counts), for the paths that need them. */
  flow(i: number): Flow {
    const at = i * FLOW_KEY.size;
    return {
      key: decodeKey(this.keys, at), rawKey: this.keys.slice(at, at + FLOW_KEY.size),
      counts: {
        packets: BigInt(this.packets[i]!), bytes: BigInt(this.bytes[i]!), firstSeenNs: BigInt(this.firstSeen[i]!), lastSeenNs: BigInt(this.lastSeen[i]!),
        tcpFlags: this.tcpFlags[i]!, fragments: this.fragments[i]!, timingFlags: this.timingFlags[i]!, spikes: this.spikes[i]!,
      },
    };
  }
}
