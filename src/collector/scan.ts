/**
 * The collector's read of one batch, fast path first: the flows that a cycle only has to count
 * (same entry at the table slot it had at the same position of the last read, still live, no
 * record due, grown or not) are summed over CPUs and taken into the table here, in one loop over
 * the kernel's buffer, with no call and no object per flow. A reading host changes every flow
 * every second, and at one cycle a second this loop runs only 1 × per second: one small loop
 * compiles early and stays compiled, where the per-flow calls of the general path ran cold.
 *
 * Every other flow is handed back, in batch order, for the general path (Collector.cycle):
 *   SLOW  not touched here at all (not at its hinted slot, idle, an entry made anew, or changed
 *         while an onRead hook listens): the general path does everything for it;
 *   DUE   read into the table here; a record is due for it (or it is the final cycle): the
 *         general path adds it to the chunk.
 * Given the chunk being filled (`into`), the scan adds a DUE flow to it itself while it has handed
 * nothing back in this call (the row is hot: DueChunk.addSlot would read it again, at a random
 * slot, after the batch's scan), and stops when the chunk is full; a DUE flow after a hand-back is
 * handed back, and the scan stops after it. So records go into the chunk in batch order whichever
 * path added them, and a cycle in which every flow grew has no per-flow JavaScript in its scan.
 * What this loop does to a flow it keeps is exactly what the general path would do (the
 * collector's tests pin both, and test/collector/scan.test.ts compares them flow by flow).
 */
import { FLOW_VALUE, percpuStride, type FlowBatch } from "../kernel/index.ts";
import { NEW_SCALARS, nativeScan, SCAN_LAYOUT, SCAN_SCALARS, SC_CHUNK_CODE, SC_CHUNK_LIMIT, SC_CHUNK_N, SC_FROM, nativeNewFlows, scanFallbackReason, type NewArrays, type NewFlowLibrary, type ScanLibrary } from "../../ffi/scan.ts";
import type { DueChunk } from "./chunk.ts";
import { REASON_CODE, type ExportReason } from "./policy.ts";
import { AtoError } from "../errors.ts";
import { KEY_WORDS, ROW, R_BYTES, R_EXPORTED_AT, R_FIRST_SEEN, R_FRAGMENTS, R_GEN, R_LAST_SEEN, R_PACKETS, R_READ_BYTES, R_READ_FRAGMENTS, R_READ_PACKETS, R_SPIKES, R_TCP_FLAGS, R_TIMING_FLAGS, type FlowTable } from "./table.ts";

export const SLOW = 0, DUE = 1;

/** The chunk a scan adds its DUE flows to: records from chunk.n up to `limit` (at most its capacity), due for `reason`. */
export interface ScanInto {
  chunk: DueChunk;
  limit: number;
  reason: ExportReason;
}

/** What a cycle's scan is told: the clock and timeouts as Numbers (kernel ns). */
export interface ScanParams {
  idleBefore: number;
  idleNs: number;
  nowNs: number;
  /** 0: every interval. */
  activeNs: number;
  final: boolean;
  /** An onRead hook listens: every changed flow goes the general path (the hook is called there). */
  hooked: boolean;
}

const TWO32 = 4294967296;
const STEP = percpuStride(FLOW_VALUE.size) >> 2;
const P = FLOW_VALUE.packets >> 2, B = FLOW_VALUE.bytes >> 2, F = FLOW_VALUE.firstSeenNs >> 2, L = FLOW_VALUE.lastSeenNs >> 2;
const TF = FLOW_VALUE.tcpFlags >> 2, FR = FLOW_VALUE.fragments >> 2, TM = FLOW_VALUE.timingFlags >> 2, SP = FLOW_VALUE.spikes >> 2;
const USED = 1;

// The routine was written for these layouts; a difference is a bug in this source tree, never a host's condition.
if (STEP * 4 !== SCAN_LAYOUT.valueStride || ROW !== SCAN_LAYOUT.rowDoubles || KEY_WORDS * 4 !== SCAN_LAYOUT.keyBytes) {
  throw new AtoError(`the flow scan routine's layout ${JSON.stringify(SCAN_LAYOUT)} differs from the collector's (value stride ${STEP * 4}, row ${ROW}, key ${KEY_WORDS * 4} bytes)`, "INTERNAL");
}

/** The collector's scan here, for `ato version`: "native", or "typescript (why the routine cannot run)". */
export function scanPath(): string {
  const why = scanFallbackReason();
  return why === undefined ? "native" : `typescript (${why})`;
}

/** One cycle's scan state: its sums over every batch, and the last batch's hand-backs. */
export class BatchScan {
  /** Hand-backs of the last batch: index in the batch, kind (SLOW or DUE), slot (DUE only). */
  index = new Int32Array(4096);
  kind = new Uint8Array(4096);
  slot = new Int32Array(4096);
  n = 0;
  /** Packets of every entry read (idle and handed-back ones too): the conservation check's sum. */
  packetsRead = 0;
  /** The earliest kernel ns at which a flow kept here needs a record without a frame: its idle timeout, or (growth waiting) its active one. */
  nextDueNs = Infinity;
  /**
   * The earliest exportedAt + active of a flow kept here with no growth waiting: growth that comes after this read
   * is due then, and the collector need not read the map in between (a bound only once a frame came).
   */
  growDueNs = Infinity;
  /** Growth read here, per IP protocol: packets at [proto * 2], bytes at [proto * 2 + 1]. */
  readonly byProto = new Float64Array(512);
  /** Whether byProto holds anything (most cycles of a quiet protocol mix touch few). */
  grew = false;

  /** The native routine (asm/flow_scan.asm) when it runs here and the layouts agree; else the TypeScript loop below. */
  readonly native: ScanLibrary | undefined;
  /** The new-flow routine (asm/flow_new.asm, also on arm64) takeNew runs by default; else its TypeScript loop. */
  readonly newNative: NewFlowLibrary | undefined;
  private readonly scalars = new Float64Array(SCAN_SCALARS);

  /** `native`: "auto" (the product: the routine where it runs), a library, or null for the TypeScript loop. */
  constructor(public p: ScanParams, native: ScanLibrary | null | "auto" = "auto") {
    const lib = native === "auto" ? nativeScan() : native ?? undefined;
    this.native = lib;
    this.newNative = native === "auto" ? nativeNewFlows() : lib;
  }

  /** Starts a cycle. */
  reset(p: ScanParams): void {
    this.p = p;
    this.packetsRead = 0;
    this.nextDueNs = Infinity;
    this.growDueNs = Infinity;
    if (this.grew) this.byProto.fill(0);
    this.grew = false;
  }

  /**
   * Scans batch b from flow `from` on (flow i was at position pos0 + i of the map; order[pos] is the
   * slot tried first); returns the flow after the last one scanned (b.n: the batch is done). Without
   * `into`, the whole rest of the batch, its DUE flows handed back; with it, see the header.
   */
  run(b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number, from = 0, into?: ScanInto): number {
    if (this.index.length < b.n) { this.index = new Int32Array(b.n); this.kind = new Uint8Array(b.n); this.slot = new Int32Array(b.n); }
    if (into && (into.chunk.n >= into.limit || into.limit > into.chunk.capacity)) {
      throw new AtoError(`flow scan: a chunk of ${into.chunk.n} records has no room below its limit ${into.limit} (capacity ${into.chunk.capacity})`, "INTERNAL");
    }
    return this.native ? this.runNative(this.native, b, order, pos0, t, gen, from, into) : this.runTs(b, order, pos0, t, gen, from, into);
  }

  /**
   * Takes in the flows of batch b handed back SLOW that the table does not hold yet: a burst's new
   * flows, or every flow at the first read after a quiet stretch (with lazy reads, the final
   * collection of a stop is often the first read that sees them). Each is inserted and read into
   * its row exactly as the general path does (Baseline.seenAt's insert, then observe: first_seen is
   * where its active timeout runs from), its growth counted per protocol, its bounds taken; it comes
   * back DUE when a record is due (every one, in the final cycle), or not at all. Every other SLOW
   * flow (idle, or held by the table at another slot: then that slot becomes its `order` hint, so the
   * general path finds it without a second lookup) stays SLOW, in batch order. A table that is
   * full grows once for the flow and every SLOW one after it (a rebuild moves slots: the DUE flows'
   * slots are found again, so every slot handed back holds at the table's epoch after the call, and
   * is the flow's `order` hint).
   *
   * Why: one loop over the hand-backs, with no object and no call per flow but the insert. It runs
   * about once per stop, through code the JIT has not compiled; the general path's dozen calls and
   * two objects per new flow cost ~9 µs a flow there (scripts/bench-agent/cold.ts). Not while an
   * onRead hook listens (the general path tells it of every new flow).
   *
   * With the native library (`native`: the new-flow routine by default, where the scan's is TypeScript too), the per-flow work is
   * asm/flow_new.asm's, one call per batch (and one more per growth of the table, which stays here):
   * interpreted, the hash insert alone cost ~2 µs a flow. takeNewTs is its oracle and the path without it.
   */
  takeNew(b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number, native: NewFlowLibrary | undefined = this.newNative): void {
    if (this.p.hooked || this.n === 0) return;
    if (native) this.takeNewNative(native, b, order, pos0, t, gen);
    else this.takeNewTs(b, order, pos0, t, gen);
  }

  /** takeNew's loop in TypeScript: the oracle of asm/flow_new.asm's (test/collector/flow-new.test.ts), and the path without it. */
  takeNewTs(b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number): void {
    const { idleBefore, idleNs, nowNs, activeNs, final, hooked } = this.p;
    if (hooked || this.n === 0) return;
    const kw = b.keyWords, vw = b.valueWords, cpus = b.cpus, flowWords = b.valueBytes >> 2, byProto = this.byProto;
    const index = this.index, kind = this.kind, slots = this.slot, n = this.n;
    let out = 0, nextDue = this.nextDueNs, growDue = this.growDueNs, grew = this.grew, slowLeft = 0;
    for (let h = 0; h < n; h++) if (kind[h] === SLOW) slowLeft++;
    if (slowLeft === 0) return;
    // An empty table (a stop after a quiet run: its first read) holds none of them: room for all at once, no flow moved.
    if (t.size === 0) t.reserve(slowLeft);
    for (let h = 0; h < n; h++) {
      const i = index[h]!, k = kind[h]!;
      if (k !== SLOW) { index[out] = i; kind[out] = k; slots[out++] = slots[h]!; continue; }
      slowLeft--;
      // Sums over CPUs, as FlowBatch.countsInto (and lastSeenNs: the latest of every CPU, for the idle check).
      let packets = 0, bytes = 0, first = 0, last = 0, lastAll = 0, tcpFlags = 0, fragments = 0, timing = 0, spikes = 0;
      for (let c = 0, o = i * flowWords; c < cpus; c++, o += STEP) {
        const l = vw[o + L]! + vw[o + L + 1]! * TWO32;
        if (l > lastAll) lastAll = l;
        const p = vw[o + P]! + vw[o + P + 1]! * TWO32;
        if (p === 0) continue;
        packets += p;
        bytes += vw[o + B]! + vw[o + B + 1]! * TWO32;
        const f = vw[o + F]! + vw[o + F + 1]! * TWO32;
        if (first === 0 || f < first) first = f;
        if (l > last) last = l;
        tcpFlags |= vw[o + TF]!;
        fragments += vw[o + FR]!;
        timing += vw[o + TM]!;
        spikes += vw[o + SP]!;
      }
      // Idle (taken out of the map by the general path) or held at another slot (the map's order moved): the
      // general path, which finds the latter at once at the slot given here as its hint.
      if (lastAll < idleBefore) { index[out] = i; kind[out++] = SLOW; continue; }
      if (!t.fits(1)) {
        // Full: grown once for this flow and every SLOW one after it (the first read of a burst: all new), not at
        // every doubling. The rebuild moves slots: the DUE flows' (before and after this one) and the hints of
        // those handed back so far are found again; the SLOW ones after this one are looked up in their turn.
        t.reserve(slowLeft + 1);
        this.refind(b, order, pos0, t, h, out);
      }
      const s = t.insertAbsent(kw, i * KEY_WORDS); // no rebuild: there is room
      if (s < 0) { order[pos0 + i] = ~s; index[out] = i; kind[out++] = SLOW; continue; }
      const row = t.row, r = s * ROW;
      row[r + R_PACKETS] = 0; row[r + R_BYTES] = 0; row[r + R_FRAGMENTS] = 0; // nothing recorded of it yet
      row[r + R_READ_PACKETS] = packets; row[r + R_READ_BYTES] = bytes; row[r + R_READ_FRAGMENTS] = fragments;
      row[r + R_FIRST_SEEN] = first; row[r + R_LAST_SEEN] = last; row[r + R_EXPORTED_AT] = first;
      row[r + R_TCP_FLAGS] = tcpFlags >>> 0; row[r + R_TIMING_FLAGS] = timing; row[r + R_SPIKES] = spikes; row[r + R_GEN] = gen;
      order[pos0 + i] = s;
      if (packets !== 0 || bytes !== 0) {
        const proto = (kw[i * KEY_WORDS + 11]! >>> 8) & 0xff;
        byProto[proto * 2] += packets;
        byProto[proto * 2 + 1] += bytes;
        grew = true;
      }
      // The bounds and the due check of Collector.cycle's general path, for a flow with nothing recorded.
      if (lastAll + idleNs < nextDue) nextDue = lastAll + idleNs;
      if (packets <= 0) {
        if (activeNs !== 0 && first + activeNs < growDue) growDue = first + activeNs;
        continue;
      }
      if (final || activeNs === 0 || nowNs - first >= activeNs) { index[out] = i; slots[out] = s; kind[out++] = DUE; continue; }
      if (first + activeNs < nextDue) nextDue = first + activeNs;
    }
    this.n = out;
    this.nextDueNs = nextDue;
    this.growDueNs = growDue;
    this.grew = grew;
  }

  /**
   * After a rebuild at hand-back h (out of them kept so far, compacted): the slots of the hand-backs kept
   * (their `order` hints; and the DUE ones' slots) and of the DUE ones after h are found again.
   */
  private refind(b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, h: number, out: number): void {
    const kw = b.keyWords, index = this.index, kind = this.kind, slots = this.slot, n = this.n;
    for (let x = 0; x < n; x++) {
      if (x >= out && (x <= h || kind[x] !== DUE)) continue;
      const found = t.find(kw, index[x]! * KEY_WORDS);
      order[pos0 + index[x]!] = found;
      if (kind[x] === DUE) slots[x] = found;
    }
  }

  private readonly newScalars = new Float64Array(NEW_SCALARS);
  private newArrays: NewArrays | undefined;

  /** takeNew through asm/flow_new.asm: the table grows here, between calls, as takeNewTs grows it. */
  private takeNewNative(lib: NewFlowLibrary, b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number): void {
    const p = this.p, sc = this.newScalars, n = this.n;
    const a = (this.newArrays ??= { keyWords: b.keyWords, valueWords: b.valueWords, order, tableKeys: t.keys, tableState: t.state, row: t.row, byProto: this.byProto, index: this.index, kind: this.kind, slot: this.slot });
    a.keyWords = b.keyWords; a.valueWords = b.valueWords; a.order = order; a.index = this.index; a.kind = this.kind; a.slot = this.slot;
    sc[0] = p.idleBefore; sc[1] = p.idleNs; sc[2] = p.nowNs; sc[3] = p.activeNs; sc[4] = p.final ? 1 : 0;
    sc[5] = b.cpus; sc[6] = b.valueBytes >> 2; sc[8] = gen; sc[9] = this.nextDueNs; sc[10] = this.growDueNs; sc[11] = this.grew ? 1 : 0;
    sc[15] = 0; sc[16] = 0; sc[17] = 0; sc[18] = pos0; sc[19] = b.n;
    // An empty table (a stop after a quiet run: its first read) holds none of the batch's flows, so the scan
    // handed back every one SLOW: room for all at once, no flow moved (takeNewTs's reserve(slowLeft)).
    if (t.size === 0) t.reserve(n);
    while (newFlowsOn(lib, a, sc, n, t) !== 0) {
      // Full at hand-back sc[15] (not taken in yet): grown once for it and every SLOW one after it, as takeNewTs.
      t.reserve(sc[17]!);
      this.refind(b, order, pos0, t, sc[15]!, sc[16]!);
    }
    this.n = sc[16]!;
    this.nextDueNs = sc[9]!;
    this.growDueNs = sc[10]!;
    this.grew = sc[11] !== 0;
  }

  private runNative(lib: ScanLibrary, b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number, from: number, into?: ScanInto): number {
    const p = this.p, sc = this.scalars, chunk = into?.chunk, n0 = chunk?.n ?? 0, epoch0 = chunk?.epoch ?? 0;
    sc[SC_FROM] = from;
    if (chunk) {
      chunk.beginRows(t);
      sc[SC_CHUNK_N] = chunk.n; sc[SC_CHUNK_LIMIT] = into!.limit; sc[SC_CHUNK_CODE] = REASON_CODE[into!.reason];
    }
    sc[0] = p.idleBefore; sc[1] = p.idleNs; sc[2] = p.nowNs; sc[3] = p.activeNs; sc[4] = p.final ? 1 : 0; sc[5] = p.hooked ? 1 : 0;
    sc[6] = b.cpus; sc[7] = b.valueBytes >> 2; sc[8] = t.capacity; sc[9] = gen;
    sc[10] = this.packetsRead; sc[11] = this.nextDueNs; sc[12] = this.grew ? 1 : 0; sc[13] = this.growDueNs;
    this.n = lib.batch({
      keyWords: b.keyWords, valueWords: b.valueWords, order, orderAt: pos0, tableKeys: t.keys, tableState: t.state, row: t.row,
      byProto: this.byProto, outIndex: this.index, outKind: this.kind, outSlot: this.slot, chunk,
    }, sc, b.n);
    this.packetsRead = sc[10]!;
    this.nextDueNs = sc[11]!;
    this.grew = sc[12] !== 0;
    this.growDueNs = sc[13]!;
    if (chunk) {
      chunk.n = sc[SC_CHUNK_N]!;
      if (chunk.n === n0) chunk.epoch = epoch0; // no record added: the chunk's epoch is as addSlot left it
    }
    return sc[SC_FROM]!;
  }

  /** The TypeScript scan: the oracle of the native one (test/collector/scan.test.ts), and the path where it cannot run. */
  private runTs(b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number, from: number, into?: ScanInto): number {
    const { idleBefore, idleNs, nowNs, activeNs, final, hooked } = this.p;
    const kw = b.keyWords, vw = b.valueWords, cpus = b.cpus, flowWords = b.valueBytes >> 2;
    const tk = t.keys, st = t.state, row = t.row, cap = t.capacity, byProto = this.byProto;
    const index = this.index, kind = this.kind, slots = this.slot;
    const chunk = into?.chunk, limit = into?.limit ?? 0, reason = into?.reason ?? "interval";
    let n = 0, packetsRead = this.packetsRead, nextDue = this.nextDueNs, growDue = this.growDueNs, grew = this.grew, i = from;
    for (; i < b.n; i++) {
      // Sums over CPUs, as FlowBatch.countsInto (and lastSeenNs: the latest of every CPU, for the idle check).
      // The same loop as takeNewTs's, written out in both: one function for the two put a call per flow into each
      // (measured slower on this path, arm64's); both are pinned to asm/flow_macros.inc's SUM_CPUS by scan.test.ts
      // and flow-new.test.ts, so neither can drift alone.
      let packets = 0, bytes = 0, first = 0, last = 0, lastAll = 0, tcpFlags = 0, fragments = 0, timing = 0, spikes = 0;
      for (let c = 0, o = i * flowWords; c < cpus; c++, o += STEP) {
        const l = vw[o + L]! + vw[o + L + 1]! * TWO32;
        if (l > lastAll) lastAll = l;
        const p = vw[o + P]! + vw[o + P + 1]! * TWO32;
        if (p === 0) continue;
        packets += p;
        bytes += vw[o + B]! + vw[o + B + 1]! * TWO32;
        const f = vw[o + F]! + vw[o + F + 1]! * TWO32;
        if (first === 0 || f < first) first = f;
        if (l > last) last = l;
        tcpFlags |= vw[o + TF]!;
        fragments += vw[o + FR]!;
        timing += vw[o + TM]!;
        spikes += vw[o + SP]!;
      }
      packetsRead += packets;
      const s = order[pos0 + i]!;
      let same = s >= 0 && s < cap && st[s] === USED && lastAll >= idleBefore;
      for (let w = 0, a = i * KEY_WORDS, k = s * KEY_WORDS; same && w < KEY_WORDS; w++) same = tk[k + w] === kw[a + w];
      if (!same) { index[n] = i; kind[n++] = SLOW; continue; }
      const r = s * ROW, readPackets = row[r + R_READ_PACKETS]!;
      if (readPackets !== packets || row[r + R_LAST_SEEN] !== lastAll) {
        if (hooked || packets < readPackets || first !== row[r + R_FIRST_SEEN]) { index[n] = i; kind[n++] = SLOW; continue; }
        const dp = packets - readPackets, db = bytes - row[r + R_READ_BYTES]!;
        if (dp !== 0 || db !== 0) {
          const proto = (kw[i * KEY_WORDS + 11]! >>> 8) & 0xff;
          byProto[proto * 2] += dp;
          byProto[proto * 2 + 1] += db;
          grew = true;
        }
        row[r + R_READ_PACKETS] = packets;
        row[r + R_READ_BYTES] = bytes;
        row[r + R_READ_FRAGMENTS] = fragments;
        row[r + R_FIRST_SEEN] = first;
        row[r + R_LAST_SEEN] = last;
        row[r + R_TCP_FLAGS] = tcpFlags >>> 0;
        row[r + R_TIMING_FLAGS] = timing;
        row[r + R_SPIKES] = spikes;
      }
      row[r + R_GEN] = gen;
      if (lastAll + idleNs < nextDue) nextDue = lastAll + idleNs;
      const pending = row[r + R_READ_PACKETS]! - row[r + R_PACKETS]!;
      if (pending <= 0) {
        // Nothing waits now, but growth after this read is due at its active timeout: a bound once a frame came.
        if (activeNs !== 0 && row[r + R_EXPORTED_AT]! + activeNs < growDue) growDue = row[r + R_EXPORTED_AT]! + activeNs;
        continue;
      }
      const exportedAt = row[r + R_EXPORTED_AT]!;
      if (final || activeNs === 0 || nowNs - exportedAt >= activeNs) {
        if (chunk && n === 0) {
          chunk.addSlot(t, s, reason);
          if (chunk.n >= limit) { i++; break; } // full: the collector writes it, then scans on from i
          continue;
        }
        index[n] = i; slots[n] = s; kind[n++] = DUE;
        if (chunk) { i++; break; } // after a hand-back: the collector takes the hand-backs, then scans on from i
        continue;
      }
      if (exportedAt + activeNs < nextDue) nextDue = exportedAt + activeNs;
    }
    this.n = n;
    this.packetsRead = packetsRead;
    this.nextDueNs = nextDue;
    this.growDueNs = growDue;
    this.grew = grew;
    return i;
  }
}

/**
 * One call of asm/flow_new.asm's ato_new_batch on table t (its arrays and counts put into `a` and `sc`, its counts
 * taken back after): 0 when it went through every hand-back, 1 when it stopped for the table to grow (sc[15]:
 * where; sc[17]: the room the rest needs).
 */
export function newFlowsOn(lib: NewFlowLibrary, a: NewArrays, sc: Float64Array, n: number, t: FlowTable): number {
  sc[7] = t.capacity; sc[12] = t.size; sc[13] = t.tombstoneCount; sc[14] = t.loadLimit;
  a.tableKeys = t.keys; a.tableState = t.state; a.row = t.row;
  // The routine writes its counts back before the binding throws on a hand-back it refused: the table keeps
  // counting the flows it did take in (counts too low would let a later probe find no empty slot).
  try { return lib.newFlows(a, sc, n); } finally { t.insertedOutside(sc[12]!, sc[13]!); }
}
