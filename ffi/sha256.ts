/**
 * The one binding for libatosha256.so (asm/sha256_tree.asm): RFC 9162 leaf and node hashes with the
 * SHA extensions, one FFI call per batch. Callers pass Uint8Arrays and line spans; no pointer leaves
 * this file. The routines' contract is in the header of asm/sha256_tree.asm.
 *
 * `nativeSha256()` is the library when it can run here, else undefined, and callers then hash with
 * Bun.SHA256: the same bytes either way. It is undefined on a CPU without SHA-NI, on arm64 (whose
 * build of the library has no routine), and when the library cannot be found or loaded, so
 * `ato verify` runs with no native library at all.
 */
import { FFIType, ptr, type Library } from "bun:ffi";
// @ts-ignore: a build product imported as a file path (Bun embeds it when compiling); no types declare "*.so"
import shaLibPath from "../dist/lib/libatosha256.so" with { type: "file" };
import { AtoError } from "../src/errors.ts";
import { openOptional } from "./native.ts";

const SHA_LIB_NAME = "libatosha256.so";
const SHA_ABI_VERSION = 2;
export const HASH_BYTES = 32;

const symbols = {
  ato_sha256_abi_version: { args: [], returns: FFIType.u32 },
  ato_sha256_path: { args: [], returns: FFIType.u32 },
  ato_sha256_leaves: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.void },
  ato_sha256_nodes: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.void },
  ato_sha256_spans_within: { args: [FFIType.ptr, FFIType.u64, FFIType.u64], returns: FFIType.u64 },
} as const;

type Handle = Library<typeof symbols>;
type LeavesFn = (buf: number, spans: number, count: number, out: number) => void;
type NodesFn = (input: number, count: number, out: number) => void;
type SpansFn = (spans: number, count: number, size: number) => number | bigint;

/** Which routine hashes verify's tree: "sha-ni" (this library) or "bun" (Bun.SHA256, the portable path). */
export type HashPath = "sha-ni" | "bun";

export class Sha256Library {
  readonly file: string;
  readonly #leaves: LeavesFn;
  readonly #nodes: NodesFn;
  readonly #spansWithin: SpansFn;

  private constructor(handle: Handle, file: string) {
    this.file = file;
    this.#leaves = handle.symbols.ato_sha256_leaves as unknown as LeavesFn;
    this.#nodes = handle.symbols.ato_sha256_nodes as unknown as NodesFn;
    this.#spansWithin = handle.symbols.ato_sha256_spans_within as unknown as SpansFn;
  }

  /** The library, or the reason it cannot hash here (an AtoError("FFI") from native.ts, or no SHA-NI). */
  static open(env: Record<string, string | undefined> = process.env): Sha256Library | string {
    if (process.arch !== "x64") return `no SHA-NI routine for ${process.arch}`;
    const lib = openOptional(SHA_LIB_NAME, shaLibPath, symbols, { symbol: "ato_sha256_abi_version", expected: SHA_ABI_VERSION }, env);
    if (typeof lib === "string") return lib;
    const { handle, file } = lib;
    if (handle.symbols.ato_sha256_path() !== 1) {
      handle.close();
      return "this CPU has no SHA extensions";
    }
    return new Sha256Library(handle, file);
  }

  /**
   * out[32i : 32i+32] = SHA-256(0x00 || buf[spans[2i] : spans[2i] + spans[2i+1]]) for i < count.
   * Every start must be >= 1: the routine reads (never writes) the byte before each line.
   */
  leaves(buf: Uint8Array, spans: Uint32Array, count: number, out: Uint8Array, outOffset = 0): void {
    if (!Number.isSafeInteger(count) || count < 0 || spans.length < 2 * count || out.byteLength < outOffset + count * HASH_BYTES) {
      throw new AtoError(`sha256 leaves: ${count} lines need ${2 * count} span words and ${count * HASH_BYTES} output bytes`, "INTERNAL");
    }
    if (count === 0) return;
    // Every span within the buffer, checked natively: one call, not a loop step per line here.
    const i = Number(this.#spansWithin(ptr(spans), count, buf.byteLength));
    if (i !== count) {
      throw new AtoError(`sha256 leaves: line ${i} [${spans[2 * i]}, +${spans[2 * i + 1]}) is outside the ${buf.byteLength}-byte buffer or at 0`, "INTERNAL");
    }
    this.#leaves(ptr(buf), ptr(spans), count, ptr(out, outOffset));
  }

  /** out[32i : 32i+32] = SHA-256(0x01 || input[64i+inOffset : 64i+inOffset+64]) for i < count; out may overlap input at the same place. */
  nodes(input: Uint8Array, inOffset: number, count: number, out: Uint8Array, outOffset: number): void {
    if (!Number.isSafeInteger(count) || count < 0 || input.byteLength < inOffset + 64 * count || out.byteLength < outOffset + count * HASH_BYTES || inOffset < 0 || outOffset < 0) {
      throw new AtoError(`sha256 nodes: ${count} pairs do not fit the buffers`, "INTERNAL");
    }
    if (count === 0) return;
    this.#nodes(ptr(input, inOffset), count, ptr(out, outOffset));
  }
}

let cached: { lib: Sha256Library | undefined; why: string | undefined } | undefined;
let forced: boolean | undefined;

/** The native hasher when it can run here (opened once), else undefined. */
export function nativeSha256(): Sha256Library | undefined {
  if (forced === false) return undefined;
  cached ??= open();
  return cached.lib;
}

/** The hash path verify takes here, and why when it is the portable one (for `ato version`/doctor lines). */
export function hashPath(): { path: HashPath; why?: string } {
  const lib = nativeSha256();
  if (lib) return { path: "sha-ni" };
  return { path: "bun", why: forced === false ? "forced by a test" : cached?.why };
}

/** Test-only: false makes nativeSha256() undefined (the Bun.SHA256 path); undefined restores the default. */
export function forceSha256PathForTests(native: false | undefined): void {
  forced = native;
}

/**
 * Test-only: the library's span check alone (ato_sha256_spans_within), opened wherever the library loads, also on
 * arm64, whose build cannot hash but has the check: the index of the first of `count` spans whose start is 0 or whose
 * start + length passes `size`, else `count`. test/ffi/sha256-spans.test.ts pins every build's routine with it,
 * where leaves() never calls it too.
 */
export function spansWithinForTests(spans: Uint32Array, count: number, size: number): number {
  if (!Number.isSafeInteger(count) || count < 1 || spans.length < 2 * count) throw new AtoError(`sha256 spans: ${count} spans need ${2 * count} span words`, "INTERNAL");
  const lib = openOptional(SHA_LIB_NAME, shaLibPath, symbols, { symbol: "ato_sha256_abi_version", expected: SHA_ABI_VERSION });
  if (typeof lib === "string") throw new AtoError(lib, "FFI");
  try {
    return Number((lib.handle.symbols.ato_sha256_spans_within as unknown as SpansFn)(ptr(spans), count, size));
  } finally {
    lib.handle.close();
  }
}

function open(): { lib: Sha256Library | undefined; why: string | undefined } {
  const r = Sha256Library.open();
  return typeof r === "string" ? { lib: undefined, why: r } : { lib: r, why: undefined };
}
