/**
 * A DueChunk's flow records written straight as canonical JSON bytes, masked in one SIMD call:
 * the members of records.ts's flowRecord in RFC 8785 order (flow-line.ts's names),
 * read from the chunk's columns, with each masked address written from a cache of its quoted
 * text ("198.18.1.0/24" comes up once per /24, not once per record). The records are
 * `canonicalize(flowRecord(...))` of the same flows, byte for byte
 * (test/collector/chunk-line.test.ts compares them over random flows, IPv4 and IPv6, VLANs,
 * counts near 2^53, interface names that need escaping, kept ports, tokens and seals).
 *
 * Keyed tokens and seals are the masker's own (its keys never leave it): with them configured,
 * a chunk is masked through Masker.maskFlows, one object per flow, as before.
 */
import { FLOW_KEY } from "../kernel/index.ts";
import { JsonBytes } from "../log/index.ts";
import { formatAddress, SLOT_BYTES, type FlowAddresses, type Masker, type MaskedFlow, type PortPolicy } from "../mask/index.ts";
import type { DueChunk } from "./chunk.ts";
import { CLOSE, IsoTimes, KEYS, StringCache } from "./flow-line.ts";
import { KEY_WORDS } from "./table.ts";

const {
  BYTES, BYTES_TOTAL, DPORT, DST, DST_TOKEN, FAMILY, FIRST_SEEN, FRAGMENTS, ICMP_CODE, ICMP_TYPE, IFACE, LAST_SEEN, PACKETS,
  PACKETS_TOTAL, PROTO, REASON, RID, SEALED, SPIKES_TOTAL, SPORT, SRC, SRC_TOKEN, TCP_FLAGS, TIMING_FLAGS_TOTAL, VLAN, VLAN_INNER,
} = KEYS;
const TCP = 6;
/** Masked IPv4 addresses kept as text at most (a /24 policy has at most 2^24; a busy host sees far fewer). */
const V4_CACHE_MAX = 1 << 16;
const SLOT_WORDS = SLOT_BYTES >> 2;

export class ChunkWriter {
  private readonly slots: Uint8Array;
  private readonly slotWords: Uint32Array;
  private readonly sel: Uint8Array;
  private readonly v4 = new Map<number, Uint8Array>();
  private readonly prefix4: number;
  private readonly prefix6: number;
  /** Tokens or seals configured: the masker's object path (maskFlows). */
  private readonly general: boolean;
  /** The ports policy, undefined when it keeps none (the default): no call per port then. */
  private readonly keep?: PortPolicy;
  /** The chunk's masked flows on the object path; undefined on the fast path. */
  private masked?: MaskedFlow[];

  constructor(private readonly masker: Masker, capacity: number, private readonly times: IsoTimes, private readonly strings = new StringCache()) {
    this.slots = new Uint8Array(2 * capacity * SLOT_BYTES);
    this.slotWords = new Uint32Array(this.slots.buffer);
    this.sel = new Uint8Array(2 * capacity);
    this.prefix4 = masker.options.ipv4Prefix;
    this.prefix6 = masker.options.ipv6Prefix;
    this.general = masker.seals || masker.options.tokenKey !== undefined;
    this.keep = masker.options.keepPorts.spec === "none" ? undefined : masker.options.keepPorts;
  }

  /** Masks the chunk's addresses (call before write). `rids`: the records' identities, when the masker seals. */
  mask(c: DueChunk, rids?: readonly string[]): void {
    if (this.general) {
      const flows: FlowAddresses[] = [];
      for (let i = 0; i < c.n; i++) {
        const at = i * FLOW_KEY.size;
        flows.push({ family: c.family(i), proto: c.proto(i), sport: c.sport(i), dport: c.dport(i),
          src: c.keys.subarray(at + FLOW_KEY.src, at + FLOW_KEY.src + SLOT_BYTES), dst: c.keys.subarray(at + FLOW_KEY.dst, at + FLOW_KEY.dst + SLOT_BYTES) });
      }
      this.masked = this.masker.maskFlows(flows, rids);
      return;
    }
    this.masked = undefined;
    // struct flow_key starts with src then dst, 16 bytes each: the slot pair of flow i, word for word.
    const kw = c.keyWords, sw = this.slotWords, sel = this.sel;
    for (let i = 0; i < c.n; i++) {
      const k = i * KEY_WORDS, s = i * 2 * SLOT_WORDS;
      for (let j = 0; j < 2 * SLOT_WORDS; j++) sw[s + j] = kw[k + j]!;
      sel[2 * i] = sel[2 * i + 1] = c.family(i) === 4 ? 0 : 1;
    }
    this.masker.maskSlots(this.slots.subarray(0, 2 * c.n * SLOT_BYTES), sel.subarray(0, 2 * c.n));
  }

  /** Writes record i's data object (what records.ts's flowRecord builds). */
  write(w: JsonBytes, c: DueChunk, i: number, iface: string, rid?: string): void {
    const m = this.masked?.[i];
    const proto = c.proto(i), family = c.family(i), dport = c.dport(i);
    const keep = this.keep;
    w.bytes(BYTES); w.number(c.dBytes[i]!);
    w.bytes(BYTES_TOTAL); w.number(c.bytes[i]!);
    if (m ? m.dport !== undefined : keep !== undefined && keep.keeps(proto, dport)) { w.bytes(DPORT); w.number(dport); }
    w.bytes(DST); if (m) w.string(m.dst); else this.address(w, i, 1, family);
    if (m?.dst_token !== undefined) { w.bytes(DST_TOKEN); w.string(m.dst_token); }
    w.bytes(FAMILY); w.number(family);
    w.bytes(FIRST_SEEN); this.times.writeNs(w, c.firstSeen[i]!);
    if (c.dFragments[i]) { w.bytes(FRAGMENTS); w.number(c.dFragments[i]!); }
    if (proto === 1 || proto === 58) { w.bytes(ICMP_CODE); w.number(dport & 0xff); w.bytes(ICMP_TYPE); w.number(dport >> 8); }
    w.bytes(IFACE); this.strings.write(w, iface);
    w.bytes(LAST_SEEN); this.times.writeNs(w, c.lastSeen[i]!);
    w.bytes(PACKETS); w.number(c.dPackets[i]!);
    w.bytes(PACKETS_TOTAL); w.number(c.packets[i]!);
    w.bytes(PROTO); w.number(proto);
    w.bytes(REASON); this.strings.write(w, c.reason[i]!);
    if (rid) { w.bytes(RID); w.string(rid); }
    if (m?.sealed !== undefined) { w.bytes(SEALED); w.string(m.sealed); }
    if (c.spikes[i]) { w.bytes(SPIKES_TOTAL); w.number(c.spikes[i]!); }
    const sport = c.sport(i);
    if (m ? m.sport !== undefined : keep !== undefined && keep.keeps(proto, sport)) { w.bytes(SPORT); w.number(sport); }
    w.bytes(SRC); if (m) w.string(m.src); else this.address(w, i, 0, family);
    if (m?.src_token !== undefined) { w.bytes(SRC_TOKEN); w.string(m.src_token); }
    if (proto === TCP) { w.bytes(TCP_FLAGS); w.number(c.tcpFlags[i]!); }
    if (c.timingFlags[i]) { w.bytes(TIMING_FLAGS_TOTAL); w.number(c.timingFlags[i]!); }
    const vlan = c.vlan(i), inner = c.vlanInner(i);
    if (vlan) { w.bytes(VLAN); w.number(vlan); }
    if (inner) { w.bytes(VLAN_INNER); w.number(inner); }
    w.byte(CLOSE);
  }

  /** Flow i's masked source (0) or destination (1), quoted: IPv4 from the cache, IPv6 formatted. */
  private address(w: JsonBytes, i: number, which: 0 | 1, family: 4 | 6): void {
    const slot = 2 * i + which;
    if (family === 6) {
      w.string(formatAddress(6, this.slots.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES), this.prefix6));
      return;
    }
    const a = this.slotWords[slot * SLOT_WORDS]!;
    let b = this.v4.get(a);
    if (b === undefined) {
      if (this.v4.size >= V4_CACHE_MAX) this.v4.clear();
      const t = new JsonBytes(24);
      t.string(formatAddress(4, this.slots.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES), this.prefix4));
      this.v4.set(a, (b = t.buf.slice(0, t.pos)));
    }
    w.bytes(b);
  }
}
