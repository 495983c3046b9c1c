/**
 * A flow record's data object written straight as canonical JSON bytes: the members of
 * records.ts's flowRecord in RFC 8785 order (sorted by name), each name with its punctuation
 * encoded once. The same object as `canonicalize(flowRecord(...))`, byte for byte
 * (test/collector/flow-line.test.ts compares them over many random flows), at a fraction of
 * the cost: no object, no sort, no string join, no re-encoding per record.
 */
import { asciiBytes, JsonBytes } from "../log/index.ts";
import type { MaskedFlow } from "../mask/index.ts";
import type { Growth } from "./baseline.ts";
import type { KernelClock } from "./clock.ts";

/** Each member name of a flow record with its punctuation, encoded once (shared with chunk-line.ts). */
const N = (name: string, first = false) => asciiBytes(`${first ? "{" : ","}"${name}":`);
export const KEYS = {
  BYTES: N("bytes", true), BYTES_TOTAL: N("bytes_total"), DPORT: N("dport"), DST: N("dst"), DST_TOKEN: N("dst_token"),
  FAMILY: N("family"), FIRST_SEEN: N("first_seen"), FRAGMENTS: N("fragments"), ICMP_CODE: N("icmp_code"), ICMP_TYPE: N("icmp_type"),
  IFACE: N("iface"), LAST_SEEN: N("last_seen"), PACKETS: N("packets"), PACKETS_TOTAL: N("packets_total"), PROTO: N("proto"),
  REASON: N("reason"), RID: N("rid"), SEALED: N("sealed"), SPIKES_TOTAL: N("spikes_total"), SPORT: N("sport"), SRC: N("src"),
  SRC_TOKEN: N("src_token"), TCP_FLAGS: N("tcp_flags"), TIMING_FLAGS_TOTAL: N("timing_flags_total"), VLAN: N("vlan"), VLAN_INNER: N("vlan_inner"),
} as const;
const {
  BYTES, BYTES_TOTAL, DPORT, DST, DST_TOKEN, FAMILY, FIRST_SEEN, FRAGMENTS, ICMP_CODE, ICMP_TYPE, IFACE, LAST_SEEN, PACKETS,
  PACKETS_TOTAL, PROTO, REASON, RID, SEALED, SPIKES_TOTAL, SPORT, SRC, SRC_TOKEN, TCP_FLAGS, TIMING_FLAGS_TOTAL, VLAN, VLAN_INNER,
} = KEYS;
export const CLOSE = 0x7d;
const TCP = 6;

/** RFC 3339 times of kernel timestamps, written from a per-second prefix (toISOString once a second, not twice a record). */
export class IsoTimes {
  private second = NaN;
  private prefix: Uint8Array = new Uint8Array(0);

  constructor(private readonly clock: KernelClock) {}

  write(w: JsonBytes, monoNs: bigint): void {
    this.writeMs(w, this.clock.toMs(monoNs));
  }

  /** The same for a kernel timestamp held as a Number (KernelClock.msOf). */
  writeNs(w: JsonBytes, monoNs: number): void {
    this.writeMs(w, this.clock.msOf(monoNs));
  }

  private writeMs(w: JsonBytes, ms: number): void {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = asciiBytes(`"${new Date(second * 1000).toISOString().slice(0, 20)}`); // "YYYY-MM-DDTHH:MM:SS.
    }
    w.bytes(this.prefix);
    const m = ms - second * 1000;
    w.ensure(5);
    w.buf[w.pos++] = 48 + Math.floor(m / 100);
    w.buf[w.pos++] = 48 + (Math.floor(m / 10) % 10);
    w.buf[w.pos++] = 48 + (m % 10);
    w.buf[w.pos++] = 0x5a; // Z
    w.buf[w.pos++] = 0x22;
  }
}

/** Member values that repeat across records, encoded once (interface names by ifindex, reasons). */
export class StringCache {
  private readonly cache = new Map<string, Uint8Array>();

  write(w: JsonBytes, s: string): void {
    let b = this.cache.get(s);
    if (!b) {
      const t = new JsonBytes(s.length + 8);
      t.string(s);
      this.cache.set(s, (b = t.buf.slice(0, t.pos)));
    }
    w.bytes(b);
  }
}

/** Writes the data object of the flow record of `g` (what records.ts's flowRecord builds). */
export function writeFlowData(w: JsonBytes, g: Growth, m: MaskedFlow, iface: string, times: IsoTimes, strings: StringCache, rid?: string): void {
  const { f, d } = g, k = f.key, c = f.counts;
  const icmp = k.proto === 1 || k.proto === 58;
  w.bytes(BYTES); w.number(d.bytes);
  w.bytes(BYTES_TOTAL); w.number(Number(c.bytes));
  if (m.dport !== undefined) { w.bytes(DPORT); w.number(m.dport); }
  w.bytes(DST); w.string(m.dst);
  if (m.dst_token !== undefined) { w.bytes(DST_TOKEN); w.string(m.dst_token); }
  w.bytes(FAMILY); w.number(k.family);
  w.bytes(FIRST_SEEN); times.write(w, c.firstSeenNs);
  if (d.fragments) { w.bytes(FRAGMENTS); w.number(d.fragments); }
  if (icmp) { w.bytes(ICMP_CODE); w.number(k.dport & 0xff); w.bytes(ICMP_TYPE); w.number(k.dport >> 8); }
  w.bytes(IFACE); strings.write(w, iface);
  w.bytes(LAST_SEEN); times.write(w, c.lastSeenNs);
  w.bytes(PACKETS); w.number(d.packets);
  w.bytes(PACKETS_TOTAL); w.number(Number(c.packets));
  w.bytes(PROTO); w.number(k.proto);
  w.bytes(REASON); strings.write(w, g.reason);
  if (rid) { w.bytes(RID); w.string(rid); }
  if (m.sealed !== undefined) { w.bytes(SEALED); w.string(m.sealed); }
  if (c.spikes) { w.bytes(SPIKES_TOTAL); w.number(c.spikes); }
  if (m.sport !== undefined) { w.bytes(SPORT); w.number(m.sport); }
  w.bytes(SRC); w.string(m.src);
  if (m.src_token !== undefined) { w.bytes(SRC_TOKEN); w.string(m.src_token); }
  if (k.proto === TCP) { w.bytes(TCP_FLAGS); w.number(c.tcpFlags); }
  if (c.timingFlags) { w.bytes(TIMING_FLAGS_TOTAL); w.number(c.timingFlags); }
  if (k.vlan) { w.bytes(VLAN); w.number(k.vlan); }
  if (k.vlanInner) { w.bytes(VLAN_INNER); w.number(k.vlanInner); }
  w.byte(CLOSE);
}
