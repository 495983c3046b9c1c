/**
 * String and struct marshalling for the bindings in ffi/. Nothing outside ffi/ sees a pointer:
 * bindings take and return Uint8Array, strings and numbers, and use these helpers inside.
 */
import { ptr, type Pointer } from "bun:ffi";

/** A NUL-terminated copy of a string, for `const char *` arguments. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** Reads a NUL-terminated string out of a fixed-size byte field. */
export function fromCString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString("utf8");
}

/**
 * A C struct built in a byte buffer. The offsets come from the C headers (each binding states
 * its struct's layout); pointer fields keep a reference to the buffer they point to, so the
 * memory stays alive as long as the struct does.
 */
export class Struct {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly keep: ArrayBufferView[] = [];

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    // Every libbpf opts struct starts with `size_t sz`, for forward/backward compatibility.
    this.u64(0, size);
  }

  u32(offset: number, v: number): this {
    this.view.setUint32(offset, v >>> 0, true);
    return this;
  }

  i32(offset: number, v: number): this {
    this.view.setInt32(offset, v, true);
    return this;
  }

  u64(offset: number, v: number | bigint): this {
    this.view.setBigUint64(offset, BigInt(v), true);
    return this;
  }

  pointer(offset: number, target: ArrayBufferView | null): this {
    if (target === null) return this.u64(offset, 0);
    this.keep.push(target);
    return this.u64(offset, ptr(target));
  }

  readU32(offset: number): number {
    return this.view.getUint32(offset, true);
  }

  get address(): Pointer {
    return ptr(this.bytes);
  }
}
