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

  /** Any string's UTF-8 bytes as they are (JSON text already made, e.g. by canonicalize). */
  utf8(s: string): void {
    this.ensure(3 * s.length); // UTF-8 needs at most 3 bytes per UTF-16 code unit
    this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos)).written;
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

  /**
   * Unix milliseconds as a quoted RFC 3339 UTC time, "2026-12-01T12:00:00.000Z", exactly as
   * `new Date(ms).toISOString()` writes it for years 0 to 9999, by arithmetic (Howard Hinnant's
   * civil_from_days): no Date, no string, no cache to miss when consecutive times fall in
   * different seconds (a flow record's first_seen and last_seen).
   */
  isoTime(ms: number): void {
    if (!(Number.isInteger(ms) && ms >= -62167219200000 && ms <= 253402300799999)) throw new AtoError(`a time of ${ms} ms is outside years 0 to 9999`, "CORRUPT");
    const days = Math.floor(ms / 86_400_000);
    let rest = ms - days * 86_400_000;
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const hour = Math.floor(rest / 3_600_000);
    rest -= hour * 3_600_000;
    const minute = Math.floor(rest / 60_000);
    rest -= minute * 60_000;
    const second = Math.floor(rest / 1000);
    const milli = rest - second * 1000;
    this.ensure(26);
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    b[p++] = 48 + Math.floor(year / 1000); b[p++] = 48 + (Math.floor(year / 100) % 10); b[p++] = 48 + (Math.floor(year / 10) % 10); b[p++] = 48 + (year % 10);
    b[p++] = 0x2d; b[p++] = 48 + Math.floor(month / 10); b[p++] = 48 + (month % 10);
    b[p++] = 0x2d; b[p++] = 48 + Math.floor(day / 10); b[p++] = 48 + (day % 10);
    b[p++] = 0x54; b[p++] = 48 + Math.floor(hour / 10); b[p++] = 48 + (hour % 10);
    b[p++] = 0x3a; b[p++] = 48 + Math.floor(minute / 10); b[p++] = 48 + (minute % 10);
    b[p++] = 0x3a; b[p++] = 48 + Math.floor(second / 10); b[p++] = 48 + (second % 10);
    b[p++] = 0x2e; b[p++] = 48 + Math.floor(milli / 100); b[p++] = 48 + (Math.floor(milli / 10) % 10); b[p++] = 48 + (milli % 10);
    b[p++] = 0x5a; b[p++] = QUOTE;
    this.pos = p;
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

/**
 * A JSON string as RFC 8785 writes it, quoted, as text (JsonBytes.string's bytes, for records
 * built as strings): JSON.stringify's minimal escapes, a lone surrogate refused.
 */
export function jsonString(s: string): string {
  if (!s.isWellFormed()) throw new AtoError("evidence must be plain JSON; found a string with a lone surrogate (not valid Unicode, RFC 8785 §3.2.2.2)", "CORRUPT");
  return JSON.stringify(s);
}

/** The bytes of a plain ASCII constant (member names with their punctuation). */
export function asciiBytes(s: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new AtoError(`'${s}' is not printable ASCII`, "INTERNAL");
  return encoder.encode(s);
}
