/**
 * The one binding for libatoscan.so: the collector's fast path over one batch of the flow map
 * (asm/flow_scan.asm), one FFI call per batch, and its flow records as whole evidence lines
 * (asm/flow_lines.asm), one call per append. Callers pass typed arrays; no pointer leaves this
 * file. The routines' contracts are in the headers of their files; src/collector/scan.ts holds the
 * TypeScript loop the scan must equal, src/collector/chunk-line.ts the text the lines must equal.
 *
 * `nativeScan()` is the library when it can run here, else undefined, and the collector then scans
 * in TypeScript: the same table either way. It is undefined on arm64 (whose build of the library
 * has no scan routine) and when the library cannot be found or loaded. `nativeNewFlows()` is the
 * new-flow routines alone (asm/flow_new.asm), which arm64's build has (asm/flow_new_arm64.S).
 */
import { FFIType, ptr, type Library } from "bun:ffi";
// @ts-ignore: a build product imported as a file path (Bun embeds it when compiling); no types declare "*.so"
import scanLibPath from "../dist/lib/libatoscan.so" with { type: "file" };
import { AtoError } from "../src/errors.ts";
import { openOptional } from "./native.ts";

const SCAN_LIB_NAME = "libatoscan.so";
const SCAN_ABI_VERSION = 4;
/** The layout the routine was written for (asm/flow_scan.asm's constants): checked against the caller's. */
export const SCAN_LAYOUT = { valueStride: 88, rowDoubles: 13, keyBytes: 48 } as const;

const symbols = {
  ato_scan_abi_version: { args: [], returns: FFIType.u32 },
  ato_scan_batch: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.u64 },
  ato_flow_lines: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u64], returns: FFIType.u64 },
  ato_new_abi_version: { args: [], returns: FFIType.u32 },
  ato_new_batch: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.u64 },
  ato_due_rows: { args: [FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.u64 },
  ato_recorded_rows: { args: [FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.f64], returns: FFIType.u64 },
} as const;
/** asm/flow_new.asm's interface version (its own: that file changes apart from flow_scan.asm). */
const NEW_ABI_VERSION = 2;
/** sc[] of ato_new_batch (asm/flow_new.asm's header says what each holds). */
export const NEW_SCALARS = 20;

/** The arrays of one ato_new_batch call (asm/flow_new.asm's `ptrs` order): a batch, the table, the scan's hand-backs. */
export interface NewArrays {
  keyWords: Uint32Array;
  valueWords: Uint32Array;
  order: Int32Array;
  tableKeys: Uint32Array;
  tableState: Uint8Array;
  row: Float64Array;
  byProto: Float64Array;
  index: Int32Array;
  kind: Uint8Array;
  slot: Int32Array;
}

/** The arrays of one ato_recorded_rows call: a DueChunk's columns and the table's rows. */
export interface RecordedArrays {
  reasonCode: Uint8Array;
  slot: Int32Array;
  packets: Float64Array;
  bytes: Float64Array;
  fragments: Float64Array;
  row: Float64Array;
}

/** The arrays of one ato_due_rows call: the hand-backs' slots, the table, and a DueChunk's columns. */
export interface DueRowArrays extends ChunkColumns {
  slots: Int32Array;
  tableKeys: Uint32Array;
  row: Float64Array;
}

/** The arrays of one ato_flow_lines call, in asm/flow_lines.asm's `ptrs` order (columns of a DueChunk, the texts, the output and its spans). */
export interface LineArrays {
  keys: Uint8Array;
  slots: Uint8Array;
  dPackets: Float64Array;
  dBytes: Float64Array;
  dFragments: Float64Array;
  packets: Float64Array;
  bytes: Float64Array;
  firstSeen: Float64Array;
  lastSeen: Float64Array;
  tcpFlags: Uint32Array;
  timingFlags: Uint32Array;
  spikes: Uint32Array;
  reasonCode: Uint8Array;
  consts: Uint8Array;
  out: Uint8Array;
  spans: Uint32Array;
}
/** ints[] of asm/flow_lines.asm: its size, and where it says why it stopped (1: another ifindex, 2: a line it does not write). */
export const LINE_INTS = 30;
export const LINE_STOP = 29;

/** The arrays of one call, in asm/flow_scan.asm's `ptrs` order. */
export interface ScanArrays {
  keyWords: Uint32Array;
  valueWords: Uint32Array;
  order: Int32Array;
  /** The first flow's position in `order`. */
  orderAt: number;
  tableKeys: Uint32Array;
  tableState: Uint8Array;
  row: Float64Array;
  byProto: Float64Array;
  outIndex: Int32Array;
  outKind: Uint8Array;
  outSlot: Int32Array;
  /**
   * The chunk the scan writes its DUE flows' records into (from `at`, below `limit`, reason `code`),
   * as DueChunk.addSlot would: see asm/flow_scan.asm. Without it, DUE flows are handed back.
   */
  chunk?: ChunkColumns;
}

/** A DueChunk's columns (src/collector/chunk.ts), in asm/flow_scan.asm's `cols` order. */
export interface ChunkColumns {
  keyWords: Uint32Array;
  slot: Int32Array;
  reasonCode: Uint8Array;
  dPackets: Float64Array;
  dBytes: Float64Array;
  dFragments: Float64Array;
  packets: Float64Array;
  bytes: Float64Array;
  fragments: Float64Array;
  firstSeen: Float64Array;
  lastSeen: Float64Array;
  tcpFlags: Uint32Array;
  timingFlags: Uint32Array;
  spikes: Uint32Array;
}
/** scalars[] of ato_scan_batch: its size, and the slots of `from` and the chunk's count, limit and reason code. */
export const SCAN_SCALARS = 18;
export const SC_FROM = 14, SC_CHUNK_N = 15, SC_CHUNK_LIMIT = 16, SC_CHUNK_CODE = 17;

type BatchFn = (ptrs: number, scalars: number, n: number) => number | bigint;
/** The typed arrays a line call passes by address. */
type LineArray = Uint8Array | Uint32Array | Float64Array | BigUint64Array;
type LinesFn = (ptrs: number, ints: number, f: number, from: number, n: number) => number | bigint;
type DueRowsFn = (ptrs: number, from: number, to: number, at: number, code: number, cap: number) => number | bigint;
type RecordedFn = (ptrs: number, from: number, to: number, cap: number, live: number, now: number) => number | bigint;
type PinnedArray = LineArray | Int32Array;

/**
 * A pointer array whose entries are converted only when their typed array is not the one of the last
 * call (as #linePtrs below: the stop's calls run uncompiled, where a ptr() per array per call counts).
 * The arrays are held weakly: a table's arrays replaced by a rebuild (hundreds of MB at a million
 * flows) are not kept alive here until the next call.
 */
class PinnedPtrs {
  readonly ptrs: BigUint64Array;
  readonly #seen: (WeakRef<PinnedArray> | undefined)[];
  #at = 0;
  constructor(n: number) {
    this.ptrs = new BigUint64Array(n);
    this.#seen = new Array(n).fill(undefined);
  }
  set(i: number, v: PinnedArray): void {
    if (this.#seen[i]?.deref() === v) return;
    void v.buffer; // its memory is an ArrayBuffer's from here on: it does not move
    this.#seen[i] = new WeakRef(v);
    this.ptrs[i] = BigInt(ptr(v));
  }
  /** The address of the pointer array itself. */
  get address(): number {
    if (this.#at === 0) { void this.ptrs.buffer; this.#at = ptr(this.ptrs); }
    return this.#at;
  }
}

/**
 * The new-flow routines of libatoscan.so (asm/flow_new.asm; asm/flow_new_arm64.S on arm64, whose build has no scan
 * routine): the take-in of new flows, the DUE row copy and the recorded counts. ScanLibrary is this and the scan.
 */
export class NewFlowLibrary {
  readonly file: string;
  readonly #newBatch: BatchFn;
  readonly #dueRows: DueRowsFn;
  readonly #newPtrs = new PinnedPtrs(10);
  readonly #duePtrs = new PinnedPtrs(17);
  readonly #recorded: RecordedFn;
  readonly #recordedPtrs = new PinnedPtrs(6);
  #scAt = 0;
  #scSeen: Float64Array | undefined;

  protected constructor(handle: Library<typeof symbols>, file: string) {
    this.file = file;
    this.#newBatch = handle.symbols.ato_new_batch as unknown as BatchFn;
    this.#dueRows = handle.symbols.ato_due_rows as unknown as DueRowsFn;
    this.#recorded = handle.symbols.ato_recorded_rows as unknown as RecordedFn;
  }

  /** The new-flow routines alone (whatever the scan's ABI version: arm64's is 0), or why they cannot run here. */
  static openNew(env: Record<string, string | undefined> = process.env): NewFlowLibrary | string {
    const lib = openOptional(SCAN_LIB_NAME, scanLibPath, symbols, { symbol: "ato_new_abi_version", expected: NEW_ABI_VERSION }, env);
    return typeof lib === "string" ? lib : new NewFlowLibrary(lib.handle, lib.file);
  }

  /**
   * Takes in the SLOW hand-backs of a batch the table does not hold (asm/flow_new.asm's ato_new_batch), from
   * hand-back sc[15] on; `sc` (NEW_SCALARS doubles) is read and updated. Returns 0 when it went through
   * all n, 1 when it stopped for the table to grow (sc[15] is where, sc[17] the room the rest needs). Every array must hold what n
   * hand-backs, their flows and the table's capacity need: checked here, so no call can make the routine
   * read or write outside them.
   */
  newFlows(a: NewArrays, sc: Float64Array, n: number): number {
    if (sc.length < NEW_SCALARS || !Number.isSafeInteger(n) || n < 0) throw new AtoError(`new flows: ${n} hand-backs, or scalars not ${NEW_SCALARS} doubles`, "INTERNAL");
    // The routine stops at a hand-back whose index is not below `flows` (returns 3): no per-flow check here.
    const cpus = sc[5]!, flowWords = sc[6]!, cap = sc[7]!, h = sc[15]!, out = sc[16]!, orderAt = sc[18]!, flows = sc[19]!;
    if (!Number.isSafeInteger(cap) || cap < 16 || (cap & (cap - 1)) !== 0 || !Number.isSafeInteger(h) || h < 0 || h > n || !Number.isSafeInteger(out) || out < 0 || out > h
      || !Number.isSafeInteger(orderAt) || orderAt < 0 || !Number.isSafeInteger(cpus) || cpus < 0 || !Number.isSafeInteger(flowWords) || flowWords * 4 < cpus * SCAN_LAYOUT.valueStride
      || !Number.isSafeInteger(flows) || flows < 0 || !(sc[14]! < cap)
      // live and deleted slots as the table counts them: too low, and the probe for an empty slot would never end
      || !Number.isSafeInteger(sc[12]!) || sc[12]! < 0 || !Number.isSafeInteger(sc[13]!) || sc[13]! < 0 || sc[12]! + sc[13]! > cap || a.index.length < n || a.kind.length < n || a.slot.length < n
      || a.keyWords.length < flows * 12 || a.valueWords.length < flows * flowWords || a.order.length < orderAt + flows
      || a.tableKeys.length < cap * 12 || a.tableState.length < cap || a.row.length < cap * SCAN_LAYOUT.rowDoubles || a.byProto.length < 512) {
      throw new AtoError(`new flows: the arrays do not fit hand-backs ${h} to ${n} and a table of ${cap} slots`, "INTERNAL");
    }
    if (h === n) return 0;
    const p = this.#newPtrs;
    p.set(0, a.keyWords); p.set(1, a.valueWords); p.set(2, a.order); p.set(3, a.tableKeys); p.set(4, a.tableState);
    p.set(5, a.row); p.set(6, a.byProto); p.set(7, a.index); p.set(8, a.kind); p.set(9, a.slot);
    if (this.#scSeen !== sc) { void sc.buffer; this.#scSeen = sc; this.#scAt = ptr(sc); }
    const r = Number(this.#newBatch(p.address, this.#scAt, n));
    if (r === 3) throw new AtoError(`new flows: hand-back ${sc[15]} names a flow outside the batch of ${flows}`, "INTERNAL");
    if (r === 4) throw new AtoError(`new flows: the table of ${cap} slots had no free slot for hand-back ${sc[15]} although its counts (${sc[12]} live, ${sc[13]} deleted) left room`, "INTERNAL");
    return r;
  }

  /**
   * Copies the rows of table slots a.slots[from..to) into chunk entries at.. (asm/flow_new.asm's
   * ato_due_rows), reason `code`. Every entry must be in the chunk (checked here) and every slot in the table
   * (checked by the routine, which stops at one that is not: an AtoError here, the entries before it written).
   */
  dueRows(a: DueRowArrays, from: number, to: number, at: number, code: number): void {
    const cap = Math.floor(a.row.length / SCAN_LAYOUT.rowDoubles), end = at + to - from;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || !Number.isSafeInteger(at) || from < 0 || to < from || at < 0 || to > a.slots.length
      || !Number.isInteger(code) || code < 0 || code > 255 || a.tableKeys.length < cap * 12
      || a.keyWords.length < end * 12 || a.slot.length < end || a.reasonCode.length < end || a.dPackets.length < end || a.dBytes.length < end
      || a.dFragments.length < end || a.packets.length < end || a.bytes.length < end || a.fragments.length < end || a.firstSeen.length < end
      || a.lastSeen.length < end || a.tcpFlags.length < end || a.timingFlags.length < end || a.spikes.length < end) {
      throw new AtoError(`due rows: the arrays do not fit slots ${from} to ${to} into entries from ${at}`, "INTERNAL");
    }
    if (from === to) return;
    const p = this.#duePtrs;
    p.set(0, a.slots); p.set(1, a.tableKeys); p.set(2, a.row); p.set(3, a.keyWords); p.set(4, a.slot); p.set(5, a.reasonCode);
    p.set(6, a.dPackets); p.set(7, a.dBytes); p.set(8, a.dFragments); p.set(9, a.packets); p.set(10, a.bytes); p.set(11, a.fragments);
    p.set(12, a.firstSeen); p.set(13, a.lastSeen); p.set(14, a.tcpFlags); p.set(15, a.timingFlags); p.set(16, a.spikes);
    const copied = Number(this.#dueRows(p.address, from, to, at, code, cap)); // it stops at a slot outside the table
    if (copied !== to - from) throw new AtoError(`due rows: slot ${a.slots[from + copied]} is not in a table of ${cap} slots`, "INTERNAL");
  }

  /**
   * Baseline.recordedRange for a chunk filled in the table's epoch (asm/flow_new.asm's ato_recorded_rows):
   * entries from..to-1 whose reason code has its bit set in `live` write their recorded counts and `nowNs`
   * into their slot's row. Every entry must be in the arrays (checked here) and every slot in the table
   * (checked by the routine, which stops at one that is not: an AtoError here, the rows before it written).
   */
  recordedRows(a: RecordedArrays, from: number, to: number, live: number, nowNs: number): void {
    const cap = Math.floor(a.row.length / SCAN_LAYOUT.rowDoubles);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || !Number.isInteger(live) || live < 0 || live > 0xffffffff
      || a.reasonCode.length < to || a.slot.length < to || a.packets.length < to || a.bytes.length < to || a.fragments.length < to || cap < 1) {
      throw new AtoError(`recorded rows: the arrays do not fit entries ${from} to ${to} and a table of ${cap} slots`, "INTERNAL");
    }
    if (from === to) return;
    const p = this.#recordedPtrs;
    p.set(0, a.reasonCode); p.set(1, a.slot); p.set(2, a.packets); p.set(3, a.bytes); p.set(4, a.fragments); p.set(5, a.row);
    const done = Number(this.#recorded(p.address, from, to, cap, live, nowNs));
    if (done !== to) throw new AtoError(`recorded rows: entry ${done}'s slot ${a.slot[done]} is not in a table of ${cap} slots`, "INTERNAL");
  }
}

export class ScanLibrary extends NewFlowLibrary {
  readonly #batch: BatchFn;
  readonly #lines: LinesFn;
  readonly #ptrs = new BigUint64Array(11);
  /** The columns of the last chunk passed (asm/flow_scan.asm's `cols`), their address table, kept with the chunk's first column. */
  #cols?: { of: Uint32Array; table: BigUint64Array; buffers: ArrayBufferLike[]; at: bigint };
  readonly #linePtrs = new BigUint64Array(16);
  /**
   * The arrays whose addresses #linePtrs holds (then 16: ints, 17: f, 18: #linePtrs), and their ArrayBuffers: a call
   * converts only the arrays that are not the ones of the last call, not 16 ptr()s to BigInt
   * each time (a chunk whose lines the routine leaves to the text one by one calls it per line).
   * A small typed array's memory moves when its ArrayBuffer is first made (`.buffer`, subarray);
   * an ArrayBuffer's memory never moves: so the buffer is made (and kept) before the address is.
   */
  readonly #lineSeen: (LineArray | undefined)[] = new Array(19).fill(undefined);
  readonly #lineBuffers: ArrayBufferLike[] = [];
  readonly #lineAt = [0, 0, 0]; // the addresses of #linePtrs, ints, f

  private constructor(handle: Library<typeof symbols>, file: string) {
    super(handle, file);
    this.#batch = handle.symbols.ato_scan_batch as unknown as BatchFn;
    this.#lines = handle.symbols.ato_flow_lines as unknown as LinesFn;
  }

  /** The library, or why it cannot scan here. */
  static open(env: Record<string, string | undefined> = process.env): ScanLibrary | string {
    if (process.arch !== "x64") return `no scan routine for ${process.arch}`;
    const lib = openOptional(SCAN_LIB_NAME, scanLibPath, symbols, { symbol: "ato_scan_abi_version", expected: SCAN_ABI_VERSION }, env);
    if (typeof lib === "string") return lib;
    const newVersion = lib.handle.symbols.ato_new_abi_version();
    if (newVersion !== NEW_ABI_VERSION) {
      lib.handle.close();
      return `${lib.file} has new-flow ABI version ${newVersion}, expected ${NEW_ABI_VERSION}`;
    }
    return new ScanLibrary(lib.handle, lib.file);
  }

  /**
   * Scans flows scalars[SC_FROM]..n-1 (asm/flow_scan.asm); `scalars` (SCAN_SCALARS doubles) is read and its
   * sums, the next flow and the chunk's count updated. Returns the hand-backs written. Every array must hold
   * what n flows, the table's capacity and the chunk's limit need: checked here, so no call can make the
   * routine read or write outside them.
   */
  batch(a: ScanArrays, scalars: Float64Array, n: number): number {
    const cpus = scalars[6]!, flowWords = scalars[7]!, cap = scalars[8]!, from = scalars[SC_FROM]!;
    if (scalars.length < SCAN_SCALARS || !Number.isSafeInteger(from) || from < 0 || from > n || (a.chunk && !chunkFits(a.chunk, scalars))) {
      throw new AtoError(`flow scan: the scalars do not fit flows from ${from} to ${n} (or the chunk's count ${scalars[SC_CHUNK_N]} and limit ${scalars[SC_CHUNK_LIMIT]})`, "INTERNAL");
    }
    // NaN or a negative count passes every comparison below: whole numbers first (a NaN cap let any hint through).
    if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(cpus) || cpus < 0 || !Number.isSafeInteger(flowWords) || flowWords < 0
      || !Number.isSafeInteger(cap) || cap < 0 || !Number.isSafeInteger(a.orderAt) || a.orderAt < 0 || flowWords * 4 < cpus * SCAN_LAYOUT.valueStride
      || a.keyWords.length < n * 12 || a.valueWords.length < n * flowWords || a.order.length < a.orderAt + n
      || a.tableKeys.length < cap * 12 || a.tableState.length < cap || a.row.length < cap * SCAN_LAYOUT.rowDoubles
      || a.byProto.length < 512 || a.outIndex.length < n || a.outKind.length < n || a.outSlot.length < n) {
      throw new AtoError(`flow scan: the arrays do not fit ${n} flows and a table of ${cap} slots`, "INTERNAL");
    }
    if (from === n) return 0;
    const p = this.#ptrs;
    p[0] = BigInt(ptr(a.keyWords)); p[1] = BigInt(ptr(a.valueWords)); p[2] = BigInt(ptr(a.order, a.orderAt * 4));
    p[3] = BigInt(ptr(a.tableKeys)); p[4] = BigInt(ptr(a.tableState)); p[5] = BigInt(ptr(a.row)); p[6] = BigInt(ptr(a.byProto));
    p[7] = BigInt(ptr(a.outIndex)); p[8] = BigInt(ptr(a.outKind)); p[9] = BigInt(ptr(a.outSlot));
    p[10] = a.chunk ? this.#columns(a.chunk) : 0n;
    return Number(this.#batch(ptr(p), ptr(scalars), n));
  }

  /** The address of the chunk's column table, made once per chunk (its columns never change; each buffer is made before its address). */
  #columns(c: ChunkColumns): bigint {
    if (this.#cols?.of === c.keyWords) return this.#cols.at;
    const cols = [c.keyWords, c.slot, c.reasonCode, c.dPackets, c.dBytes, c.dFragments, c.packets, c.bytes, c.fragments, c.firstSeen, c.lastSeen, c.tcpFlags, c.timingFlags, c.spikes];
    const table = new BigUint64Array(cols.length), buffers = cols.map((v) => v.buffer);
    cols.forEach((v, i) => { table[i] = BigInt(ptr(v)); });
    buffers.push(table.buffer);
    this.#cols = { of: c.keyWords, table, buffers, at: BigInt(ptr(table)) };
    return this.#cols.at;
  }

  /**
   * Writes lines from..n-1 (asm/flow_lines.asm) into a.out at ints[0], which it moves; returns the
   * first line not written. Every array must hold what the lines and the texts in `consts` need:
   * checked here, so no call can make the routine read or write outside them.
   */
  lines(a: LineArrays, ints: Uint32Array, f: Float64Array, from: number, n: number): number {
    const end = ints[4]! + n, cap = ints[1]!;
    let texts = true;
    for (let t = 5; t < LINE_STOP; t += 2) if (ints[t]! + ints[t + 1]! > a.consts.length) texts = false;
    if (!Number.isSafeInteger(n) || !Number.isSafeInteger(from) || from < 0 || from > n || ints.length < LINE_INTS || f.length < 3 || !texts
      || end > lineRecords(a) || a.spans.length < 2 * n || cap > a.out.length || ints[0]! > cap) {
      throw new AtoError(`flow lines: the arrays do not fit lines ${from} to ${n} of records from ${ints[4]}`, "INTERNAL");
    }
    if (from === n) return n;
    this.#linePtr(0, a.keys); this.#linePtr(1, a.slots); this.#linePtr(2, a.dPackets); this.#linePtr(3, a.dBytes);
    this.#linePtr(4, a.dFragments); this.#linePtr(5, a.packets); this.#linePtr(6, a.bytes); this.#linePtr(7, a.firstSeen);
    this.#linePtr(8, a.lastSeen); this.#linePtr(9, a.tcpFlags); this.#linePtr(10, a.timingFlags); this.#linePtr(11, a.spikes);
    this.#linePtr(12, a.reasonCode); this.#linePtr(13, a.consts); this.#linePtr(14, a.out); this.#linePtr(15, a.spans);
    const at = this.#lineAt, seen = this.#lineSeen;
    if (at[0] === 0) at[0] = this.#pinned(18, this.#linePtrs);
    if (seen[16] !== ints) at[1] = this.#pinned(16, ints);
    if (seen[17] !== f) at[2] = this.#pinned(17, f);
    return Number(this.#lines(at[0]!, at[1]!, at[2]!, from, n));
  }

  /** #linePtrs[i] = the address of v, converted only when v is not the array it was at the last call. */
  #linePtr(i: number, v: LineArray): void {
    if (this.#lineSeen[i] !== v) this.#linePtrs[i] = BigInt(this.#pinned(i, v));
  }

  /** v's address once its memory is an ArrayBuffer's (which does not move), v and its buffer kept as entry i. */
  #pinned(i: number, v: LineArray): number {
    // a resizable buffer could move under the kept address when it grows
    if ((v.buffer as ArrayBuffer).resizable) throw new AtoError("flow lines: an array's buffer is resizable", "INTERNAL");
    this.#lineBuffers[i] = v.buffer;
    this.#lineSeen[i] = v;
    return ptr(v);
  }
}

/**
 * How many records every column of a lines call holds, read at each call: the same array's buffer can be
 * transferred away between calls (it then reads as length 0 here, where the kept address points into memory given up).
 */
function lineRecords(a: LineArrays): number {
  return Math.min(Math.floor(a.keys.length / 48), Math.floor(a.slots.length / 32), a.dPackets.length, a.dBytes.length, a.dFragments.length,
    a.packets.length, a.bytes.length, a.firstSeen.length, a.lastSeen.length, a.tcpFlags.length, a.timingFlags.length, a.spikes.length, a.reasonCode.length);
}

/** Whether the chunk's columns hold records up to its limit, and the count is below it. */
function chunkFits(c: ChunkColumns, sc: Float64Array): boolean {
  const at = sc[SC_CHUNK_N]!, limit = sc[SC_CHUNK_LIMIT]!, code = sc[SC_CHUNK_CODE]!;
  return Number.isSafeInteger(at) && Number.isSafeInteger(limit) && Number.isInteger(code) && code >= 0 && code < 256 && at >= 0 && at < limit
    && c.keyWords.length >= limit * 12 && c.slot.length >= limit && c.reasonCode.length >= limit && c.dPackets.length >= limit
    && c.dBytes.length >= limit && c.dFragments.length >= limit && c.packets.length >= limit && c.bytes.length >= limit
    && c.fragments.length >= limit && c.firstSeen.length >= limit && c.lastSeen.length >= limit && c.tcpFlags.length >= limit
    && c.timingFlags.length >= limit && c.spikes.length >= limit;
}

let cached: ScanLibrary | string | undefined;
let forced: boolean | undefined;

/** The native scan when it can run here (opened once), else undefined. */
export function nativeScan(): ScanLibrary | undefined {
  if (forced === false) return undefined;
  cached ??= ScanLibrary.open();
  return typeof cached === "string" ? undefined : cached;
}

let cachedNew: NewFlowLibrary | string | undefined;

/**
 * The new-flow routines when they can run here, else undefined (the TypeScript loops): the scan's library where it
 * scans natively (x86-64), else the library opened for them alone (arm64); undefined when forced by a test.
 */
export function nativeNewFlows(): NewFlowLibrary | undefined {
  if (forced === false) return undefined;
  const scan = nativeScan();
  if (scan || process.arch === "x64") return scan;
  cachedNew ??= NewFlowLibrary.openNew();
  return typeof cachedNew === "string" ? undefined : cachedNew;
}

/** Why the collector scans in TypeScript here (undefined when it scans natively). */
export function scanFallbackReason(): string | undefined {
  return nativeScan() ? undefined : forced === false ? "forced by a test" : (cached as string);
}

/** Test-only: false makes nativeScan() undefined (the TypeScript loop); undefined restores the default. */
export function forceScanPathForTests(native: false | undefined): void {
  forced = native;
}
