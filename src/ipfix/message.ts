/**
 * IPFIX message encoding (RFC 7011 §3): a 16-byte message header, then sets. A template set (set ID 2) carries
 * template records; a data set (set ID = template ID) carries data records in the template's field order, all in
 * network byte order. Sets are not padded: every record here has a fixed length, so none is needed (§3.3.1).
 */
import { END_REASON, type EndReason, type Template } from "./elements.ts";

export const VERSION = 10;
export const MESSAGE_HEADER = 16;
export const SET_HEADER = 4;
export const TEMPLATE_SET_ID = 2;

/** One flow's export: what the collector hands over when a record of the flow leaves. */
export interface FlowExport {
  family: 4 | 6;
  proto: number;
  /** 4 bytes (IPv4) or 16 (IPv6); a 16-byte slot with an IPv4 address in its first 4 is also taken. */
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  /** For ICMP: type << 8 | code, as NetFlow and the kernel key carry it. */
  dport: number;
  packets: number;
  bytes: number;
  startMs: number;
  endMs: number;
  /** The OR of the TCP flag bytes seen (0 for other protocols). */
  tcpFlags: number;
  vlan: number;
  vlanInner: number;
  ifindex: number;
  reason: EndReason;
}

export function templateSetLength(ts: readonly Template[]): number {
  return SET_HEADER + ts.reduce((n, t) => n + 4 + 4 * t.fields.length, 0);
}

/** Writes the message header; `length` is the whole message's. */
export function writeHeader(v: DataView, length: number, exportSeconds: number, sequence: number, domain: number): void {
  v.setUint16(0, VERSION);
  v.setUint16(2, length);
  v.setUint32(4, exportSeconds >>> 0);
  v.setUint32(8, sequence >>> 0);
  v.setUint32(12, domain >>> 0);
}

/** Writes a template set at `at`; returns the offset after it. */
export function writeTemplateSet(v: DataView, at: number, ts: readonly Template[]): number {
  const start = at;
  v.setUint16(at, TEMPLATE_SET_ID);
  at += SET_HEADER;
  for (const t of ts) {
    v.setUint16(at, t.id);
    v.setUint16(at + 2, t.fields.length);
    at += 4;
    for (const f of t.fields) {
      v.setUint16(at, f.id);
      v.setUint16(at + 2, f.length);
      at += 4;
    }
  }
  v.setUint16(start + 2, at - start);
  return at;
}

export function writeSetHeader(v: DataView, at: number, setId: number, length: number): void {
  v.setUint16(at, setId);
  v.setUint16(at + 2, length);
}

const u64 = (v: DataView, at: number, n: number) => v.setBigUint64(at, BigInt(Math.max(0, Math.trunc(n))));

/** Writes one data record of template `t` (fields in TEMPLATE_V4/V6 order); returns the offset after it. */
export function writeRecord(v: DataView, at: number, t: Template, f: FlowExport): number {
  const bytes = new Uint8Array(v.buffer, v.byteOffset);
  const alen = t.family === 4 ? 4 : 16;
  bytes.set(f.src.subarray(0, alen), at);
  bytes.set(f.dst.subarray(0, alen), at + alen);
  at += 2 * alen;
  v.setUint16(at, f.sport);
  v.setUint16(at + 2, f.dport);
  v.setUint8(at + 4, f.proto);
  u64(v, at + 5, f.bytes);
  u64(v, at + 13, f.packets);
  u64(v, at + 21, f.startMs);
  u64(v, at + 29, f.endMs);
  v.setUint16(at + 37, f.tcpFlags & 0xff);
  v.setUint16(at + 39, f.vlan & 0xfff);
  v.setUint16(at + 41, f.vlanInner & 0xfff);
  v.setUint32(at + 43, f.ifindex >>> 0);
  v.setUint8(at + 47, END_REASON[f.reason]);
  return at + 48;
}
