/**
 * Canonical JSON (RFC 8785) written straight as UTF-8 bytes into one growing buffer: for the
 * records written a million times a cycle (flow records), where building an object, sorting
 * its keys, joining strings and encoding them cost more than everything else together. The
 * caller writes members in sorted order (see src/collector/flow-line.ts); `canonicalize()`
 * stays the oracle, compared byte for byte in test/log/bytes.test.ts.
 */
import { AtoError } from "../errors.ts";

const encoder = new TextEncoder();
const QUOTE = 0x22;

export class JsonBytes {
  buf: Uint8Array;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
  }

  /** Room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    if (n > 64) {
      this.buf.set(b, this.pos);
      this.pos += n;
      return;
    }
    // Member names and cached values are short: a loop beats TypedArray.set's call overhead.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** A string known to be plain ASCII (no escapes needed), without quotes. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A JSON string as RFC 8785 writes it (JSON.stringify's minimal escapes), quoted. */
  string(s: string): void {
    // Plain printable ASCII is copied as it is scanned; anything else is written by JSON.stringify.
    const n = s.length;
    this.ensure(n + 2);
    const buf = this.buf, start = this.pos;
    let p = start;
    buf[p++] = QUOTE;
    let plain = true;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) { plain = false; break; }
      buf[p++] = c;
    }
    if (plain) {
      buf[p++] = QUOTE;
      this.pos = p;
      return;
    }
    this.pos = start;
    if (!s.isWellFormed()) throw new AtoError("evidence must be plain JSON; found a string with a lone surrogate (not valid Unicode, RFC 8785 §3.2.2.2)", "CORRUPT");
    this.bytes(encoder.encode(JSON.stringify(s)));
  }

  /** A number in ECMAScript's shortest round-trip form (integers as their digits). */
  number(n: number): void {
    if (n >= 0 && n <= 0xffffffff && Number.isInteger(n)) return this.uint(n);
    if (!Number.isFinite(n)) throw new AtoError(`evidence must be plain JSON; found the number ${n} (JSON has no NaN or Infinity)`, "CORRUPT");
    this.ascii(String(n));
  }

  /** A whole number 0 ≤ n < 2^32, digit by digit. */
  private uint(n: number): void {
    this.ensure(10);
    if (n < 10) { this.buf[this.pos++] = 48 + n; return; }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    const buf = this.buf;
    do {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }
}

/** The bytes of a plain ASCII constant (member names with their punctuation). */
export function asciiBytes(s: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new AtoError(`'${s}' is not printable ASCII`, "INTERNAL");
  return encoder.encode(s);
}
