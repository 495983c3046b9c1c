/**
 * The one binding for libatoscan.so: the collector's fast path over one batch of the flow map
 * (asm/flow_scan.asm), one FFI call per batch, and its flow records as whole evidence lines
 * (asm/flow_lines.asm), one call per append. Callers pass typed arrays; no pointer leaves this
 * file. The routines' contracts are in the headers of their files; src/collector/scan.ts holds the
 * TypeScript loop the scan must equal, src/collector/chunk-line.ts the text the lines must equal.
 *
 * `nativeScan()` is the library when it can run here, else undefined, and the collector then scans
 * in TypeScript: the same table either way. It is undefined on arm64 (whose build of the library
 * has no routine) and when the library cannot be found or loaded.
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
} as const;

/** The arrays of one ato_flow_lines call, in asm/flow_lines.asm's `ptrs` order (columns of a DueChunk). */
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

export class ScanLibrary {
  readonly file: string;
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
    this.file = file;
    this.#batch = handle.symbols.ato_scan_batch as unknown as BatchFn;
    this.#lines = handle.symbols.ato_flow_lines as unknown as LinesFn;
  }

  /** The library, or why it cannot scan here. */
  static open(env: Record<string, string | undefined> = process.env): ScanLibrary | string {
    if (process.arch !== "x64") return `no scan routine for ${process.arch}`;
    const lib = openOptional(SCAN_LIB_NAME, scanLibPath, symbols, { symbol: "ato_scan_abi_version", expected: SCAN_ABI_VERSION }, env);
    return typeof lib === "string" ? lib : new ScanLibrary(lib.handle, lib.file);
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
    if (!Number.isSafeInteger(n) || n < 0 || flowWords * 4 < cpus * SCAN_LAYOUT.valueStride
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
      || a.keys.length < end * 48 || a.slots.length < end * 32 || a.dPackets.length < end || a.dBytes.length < end || a.dFragments.length < end
      || a.packets.length < end || a.bytes.length < end || a.firstSeen.length < end || a.lastSeen.length < end || a.tcpFlags.length < end
      || a.timingFlags.length < end || a.spikes.length < end || a.reasonCode.length < end || a.spans.length < 2 * n
      || cap > a.out.length || ints[0]! > cap) {
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
    this.#lineBuffers[i] = v.buffer;
    this.#lineSeen[i] = v;
    return ptr(v);
  }
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

/** Why the collector scans in TypeScript here (undefined when it scans natively). */
export function scanFallbackReason(): string | undefined {
  return nativeScan() ? undefined : forced === false ? "forced by a test" : (cached as string);
}

/** Test-only: false makes nativeScan() undefined (the TypeScript loop); undefined restores the default. */
export function forceScanPathForTests(native: false | undefined): void {
  forced = native;
}
