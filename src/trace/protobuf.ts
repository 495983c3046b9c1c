/**
 * The few protobuf wire types OTLP needs (protobuf encoding spec: varint, 64-bit, length-delimited, 32-bit),
 * written into a growing buffer. A nested message is written into a writer of its own and added as bytes:
 * simpler than reserving length prefixes, and spans are small.
 */

const enc = new TextEncoder();

export class ProtoWriter {
  private buf = new Uint8Array(256);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  private varint(v: bigint | number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.room(10);
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
    new DataView(this.buf.buffer).setBigUint64(this.n, BigInt.asUintN(64, v), true);
    this.n += 8;
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    this.room(8);
    new DataView(this.buf.buffer).setFloat64(this.n, v, true);
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
    return s ? this.bytes(field, enc.encode(s)) : this;
  }

  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}
