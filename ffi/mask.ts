/**
 * The one binding for libatomask.so (asm/fast_mask.asm): masks a batch of 16-byte address slots in place,
 * one FFI call per batch. Callers pass Uint8Arrays (any byteOffset, no alignment needed); no pointer leaves
 * this file. The routine's contract is in the header of asm/fast_mask.asm.
 */
import { FFIType, type Library } from "bun:ffi";
// @ts-ignore: a build product imported as a file path (Bun embeds it when compiling); no types declare "*.so"
import maskLibPath from "../dist/lib/libatomask.so" with { type: "file" };
import { AtoError } from "../src/errors.ts";
import { locateLibrary, openLibrary } from "./native.ts";

const MASK_LIB_NAME = "libatomask.so";
const MASK_ABI_VERSION = 2;
export const SLOT_BYTES = 16;
/** Two masks of one slot each: mask 0 then mask 1. */
const MASK_TABLE_BYTES = 2 * SLOT_BYTES;
/** bpf/xdp_audit.h's struct flow_key: what ato_mask_keys reads (src at 0, dst at 16, family at 44). */
export const KEY_BYTES = 48;

/** Which SIMD routine masks: 16 bytes per instruction, or 32. */
/** "neon": arm64's build of the library (asm/fast_mask_arm64.S), whose one 16-byte path is NEON. */
export type SimdPath = "sse2" | "avx2" | "neon";
/** "auto" lets the routine choose by CPUID (the product path); the others force an entry point. */
export type SimdChoice = "auto" | "sse2" | "avx2";

const batchArgs = { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.void } as const;
const symbols = {
  ato_mask_abi_version: { args: [], returns: FFIType.u32 },
  ato_mask_path: { args: [], returns: FFIType.u32 },
  ato_mask_batch: batchArgs,
  ato_mask_batch_sse2: batchArgs,
  ato_mask_batch_avx2: batchArgs,
  ato_mask_keys: batchArgs,
} as const;

type Handle = Library<typeof symbols>;
type BatchFn = (slots: Uint8Array, sel: Uint8Array, masks: Uint8Array, count: number) => void;
type KeysFn = (keys: Uint8Array, slots: Uint8Array, masks: Uint8Array, count: number) => void;

const PATH_CODES: Record<number, SimdPath> = { 1: "sse2", 2: "avx2", 3: "neon" };

export class MaskLibrary {
  /** The routine every maskBatch call runs. */
  readonly path: SimdPath;
  /** Whether this CPU and OS could run the AVX2 routine. */
  readonly avx2Available: boolean;
  /** The file that was opened. */
  readonly file: string;
  #handle: Handle | undefined;
  readonly #batch: BatchFn;
  readonly #keys: KeysFn;

  private constructor(handle: Handle, file: string, choice: SimdChoice) {
    const abi = handle.symbols.ato_mask_abi_version();
    if (abi !== MASK_ABI_VERSION) {
      handle.close();
      throw new AtoError(`${file} has ABI version ${abi}, expected ${MASK_ABI_VERSION}; rebuild with \`bash scripts/build.sh\``, "FFI");
    }
    const auto = PATH_CODES[handle.symbols.ato_mask_path()];
    if (!auto) {
      handle.close();
      throw new AtoError(`${file} reported an unknown SIMD path, expected 1 (sse2), 2 (avx2) or 3 (neon)`, "INTERNAL");
    }
    this.avx2Available = auto === "avx2";
    if (choice === "avx2" && !this.avx2Available) {
      handle.close();
      throw new AtoError("the AVX2 masking path was requested, but this CPU or OS does not support AVX2", "CONFIG");
    }
    this.#handle = handle;
    this.file = file;
    this.path = choice === "auto" ? auto : choice;
    const fn = {
      auto: handle.symbols.ato_mask_batch,
      sse2: handle.symbols.ato_mask_batch_sse2,
      avx2: handle.symbols.ato_mask_batch_avx2,
    }[choice];
    this.#batch = fn as unknown as BatchFn;
    this.#keys = handle.symbols.ato_mask_keys as unknown as KeysFn;
  }

  /** Opens libatomask.so (see ffi/native.ts for where it is found). */
  static open(options: { simd?: SimdChoice; env?: Record<string, string | undefined> } = {}): MaskLibrary {
    const file = locateLibrary(MASK_LIB_NAME, maskLibPath, options.env);
    return new MaskLibrary(openLibrary(file, symbols), file, options.simd ?? "auto");
  }

  /**
   * Masks `count` slots of `slots` in place: slot i is ANDed with mask (sel[i] & 1) of `masks`
   * (2 x 16 bytes). `count` defaults to every whole slot in `slots`.
   */
  maskBatch(slots: Uint8Array, sel: Uint8Array, masks: Uint8Array, count = Math.floor(slots.byteLength / SLOT_BYTES)): void {
    if (!this.#handle) throw new AtoError("the masking library was used after close()", "INTERNAL");
    checkBatch(slots, sel, masks, count);
    if (count === 0) return;
    this.#batch(slots, sel, masks, count);
  }

  /**
   * Masks the addresses of `count` flow keys (KEY_BYTES each) into `slots`: key i's src and dst
   * become slots 2i and 2i + 1, ANDed with mask 1 of `masks` when its family byte is 6, else
   * mask 0; `keys` is not modified. The same slots as copying them and calling maskBatch with
   * sel = (family == 6), in one call (test/mask/ffi.test.ts compares them).
   */
  maskKeys(keys: Uint8Array, slots: Uint8Array, masks: Uint8Array, count: number): void {
    if (!this.#handle) throw new AtoError("the masking library was used after close()", "INTERNAL");
    if (!Number.isSafeInteger(count) || count < 0) throw new AtoError(`mask keys: expected a key count >= 0, found ${count}`, "INTERNAL");
    if (keys.byteLength < count * KEY_BYTES || slots.byteLength < 2 * count * SLOT_BYTES) {
      throw new AtoError(
        `mask keys: ${count} keys need ${count * KEY_BYTES} key bytes and ${2 * count * SLOT_BYTES} slot bytes, found ${keys.byteLength} and ${slots.byteLength}`,
        "INTERNAL",
      );
    }
    if (masks.byteLength !== MASK_TABLE_BYTES) throw new AtoError(`mask keys: expected a ${MASK_TABLE_BYTES}-byte mask table, found ${masks.byteLength} bytes`, "INTERNAL");
    if (count === 0) return;
    this.#keys(keys, slots, masks, count);
  }

  /** Releases the library; later maskBatch calls fail. Closing twice is harmless. */
  close(): void {
    this.#handle?.close();
    this.#handle = undefined;
  }
}

/** A call with these lengths would read or write outside the buffers: a bug in the caller. */
function checkBatch(slots: Uint8Array, sel: Uint8Array, masks: Uint8Array, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new AtoError(`mask batch: expected a slot count >= 0, found ${count}`, "INTERNAL");
  }
  if (slots.byteLength < count * SLOT_BYTES || sel.byteLength < count) {
    throw new AtoError(
      `mask batch: ${count} slots need ${count * SLOT_BYTES} slot bytes and ${count} selector bytes, ` +
        `found ${slots.byteLength} and ${sel.byteLength}`,
      "INTERNAL",
    );
  }
  if (masks.byteLength !== MASK_TABLE_BYTES) {
    throw new AtoError(`mask batch: expected a ${MASK_TABLE_BYTES}-byte mask table, found ${masks.byteLength} bytes`, "INTERNAL");
  }
}
