/**
 * The few protobuf wire types OTLP needs (protobuf encoding spec: varint, 64-bit, length-delimited, 32-bit),
 * written into one growing buffer. A nested message is opened with `fork(field)` and closed with `join()`, which
 * moves its content right by the size of its length prefix (a memmove of a few hundred bytes): no writer, and
 * no buffer, per nested message.
 */

const enc = new TextEncoder();

/** Span names, attribute keys and most values repeat from span to span: their UTF-8 is kept (a bounded cache). */
const encoded = new Map<string, Uint8Array>();
export function utf8(s: string): Uint8Array {
  let b = encoded.get(s);
  if (b) return b;
  b = enc.encode(s);
  if (s.length <= 64) {
    if (encoded.size >= 1024) encoded.clear();
    encoded.set(s, b);
  }
  return b;
}

export class ProtoWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  private varint(v: bigint | number): void {
    this.room(10);
    if (typeof v === "number" && v >= 0 && v < 0x80000000) { // the common case without BigInt
      while (v >= 0x80) {
        this.buf[this.n++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.n++] = v;
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.buf[this.n++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.n++] = Number(x);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A varint field, left out when zero (proto3's default). */
  uint(field: number, v: number | bigint): this {
    return v ? this.varintField(field, v) : this;
  }

  /** A varint field, written even when zero (a oneof member). */
  varintField(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.uint(field, v ? 1 : 0);
  }

  fixed64(field: number, v: bigint): this {
    this.tag(field, 1);
    this.room(8);
    this.view.setBigUint64(this.n, BigInt.asUintN(64, v), true);
    this.n += 8;
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    this.room(8);
    this.view.setFloat64(this.n, v, true);
    this.n += 8;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return s ? this.bytes(field, utf8(s)) : this;
  }

  /** Opens a nested message (length-delimited field); returns where its content starts, for join(). */
  fork(field: number): number {
    this.tag(field, 2);
    return this.n;
  }

  /** Closes the nested message opened at `at`: puts its length in front of it. */
  join(at: number): this {
    const len = this.n - at;
    const k = len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
    this.room(k);
    this.buf.copyWithin(at + k, at, this.n);
    const end = this.n + k;
    this.n = at;
    this.varint(len);
    this.n = end;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}
