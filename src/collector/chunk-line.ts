/**
 * A DueChunk's flow records written straight as canonical JSON text, masked in one SIMD call:
 * the members of records.ts's flowRecord in RFC 8785 order (sorted by name), read from the
 * chunk's columns into one template per record, with each masked address taken from a cache
 * of its quoted text ("198.18.1.0/24" comes up once per /24, not once per record). The records
 * are `canonicalize(flowRecord(...))` of the same flows, byte for byte
 * (test/collector/chunk-line.test.ts compares them over random flows, IPv4 and IPv6, VLANs,
 * counts near 2^53, interface names that need escaping, kept ports, tokens and seals).
 *
 * Why one template: a record costs about twenty concatenations, each a single operation even
 * in code the JIT has not compiled yet (the agent's shutdown export writes thousands of records
 * through such code), where writing bytes cost a store and a loop step per character.
 *
 * Keyed tokens and seals are the masker's own (its keys never leave it): with them configured,
 * a chunk is masked through Masker.maskFlows, one object per flow, as before.
 */
import { LINE_INTS, LINE_STOP, nativeScan, type LineArrays } from "../../ffi/scan.ts";
import { FLOW_KEY } from "../kernel/index.ts";
import { jsonString, type Envelope, type LineWriter } from "../log/index.ts";
import { formatAddress, SLOT_BYTES, type FlowAddresses, type Masker, type MaskedFlow, type PortPolicy } from "../mask/index.ts";
import type { DueChunk } from "./chunk.ts";
import { IsoTimes, StringCache } from "./flow-line.ts";
import { REASONS } from "./policy.ts";
import { KEY_WORDS } from "./table.ts";

const TCP = 6;
/** Masked IPv4 addresses kept as text at most (a /24 policy has at most 2^24; a busy host sees far fewer). */
const V4_CACHE_MAX = 1 << 16;
const SLOT_WORDS = SLOT_BYTES >> 2;
// The key's fields in its little-endian words (bpf/xdp_audit.h's struct flow_key).
const W_SPORT = FLOW_KEY.sport >> 2, W_DPORT = FLOW_KEY.dport >> 2, W_VLAN = FLOW_KEY.vlan >> 2, W_VLAN_INNER = FLOW_KEY.vlanInner >> 2;
/** The native line writer's texts (asm/flow_lines.asm's consts): a region of REGION bytes each. */
const REGION = 256, AT_REASONS = 0, AT_IFACE = REGION, AT_HEAD = 2 * REGION, AT_MID = 3 * REGION, AT_TAIL = 4 * REGION;
/** A line's bytes beyond its texts, at most (asm/flow_lines.asm's LINE_ROOM), and the longest reason. */
const LINE_ROOM = 640 + 16;
const utf8 = new TextEncoder();

export class ChunkWriter {
  private readonly slots: Uint8Array;
  private readonly slotWords: Uint32Array;
  private readonly v4 = new Map<number, string>();
  private readonly prefix4: number;
  private readonly prefix6: number;
  /** Tokens or seals configured: the masker's object path (maskFlows). */
  private readonly general: boolean;
  /** The ports policy, undefined when it keeps none (the default): no call per port then. */
  private readonly keep?: PortPolicy;
  /** The chunk's masked flows on the object path; undefined on the fast path. */
  private masked?: MaskedFlow[];
  /** The native line writer's arguments for the last chunk it wrote (see lines). */
  private native?: { chunk: DueChunk; a: LineArrays; ints: Uint32Array; f: Float64Array; env?: Envelope };

  constructor(private readonly masker: Masker, capacity: number, private readonly times: IsoTimes, private readonly strings = new StringCache()) {
    this.slots = new Uint8Array(2 * capacity * SLOT_BYTES);
    this.slotWords = new Uint32Array(this.slots.buffer);
    this.prefix4 = masker.options.ipv4Prefix;
    this.prefix6 = masker.options.ipv6Prefix;
    this.general = masker.seals || masker.options.tokenKey !== undefined;
    this.keep = masker.options.keepPorts.spec === "none" ? undefined : masker.options.keepPorts;
  }

  /** Masks the chunk's addresses (call before text or lines). `rids`: the records' identities, when the masker seals. */
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
    this.masker.maskKeys(c.keys, this.slots, c.n); // flow i's src and dst to slots 2i, 2i + 1 (maskKeysOracle)
  }

  /** Record i's data object (what records.ts's flowRecord builds), as canonical JSON text. */
  text(c: DueChunk, i: number, iface: string, rid?: string): string {
    const m = this.masked?.[i];
    const kw = c.keyWords, k = i * KEY_WORDS, kb = i * FLOW_KEY.size;
    const proto = c.keys[kb + FLOW_KEY.proto]!, family = c.keys[kb + FLOW_KEY.family] === 6 ? 6 : 4;
    const sport = kw[k + W_SPORT]! & 0xffff, dport = kw[k + W_DPORT]! >>> 16;
    const vlan = kw[k + W_VLAN]! & 0xffff, inner = kw[k + W_VLAN_INNER]! >>> 16;
    const keep = this.keep;
    let dst: string, src: string, dp: boolean, sp: boolean, dstToken = "", srcToken = "", sealed = "";
    if (m) {
      dst = jsonString(m.dst);
      src = jsonString(m.src);
      dp = m.dport !== undefined;
      sp = m.sport !== undefined;
      if (m.dst_token !== undefined) dstToken = `,"dst_token":${jsonString(m.dst_token)}`;
      if (m.src_token !== undefined) srcToken = `,"src_token":${jsonString(m.src_token)}`;
      if (m.sealed !== undefined) sealed = `,"sealed":${jsonString(m.sealed)}`;
    } else {
      dst = this.address(i, 1, family);
      src = this.address(i, 0, family);
      dp = keep !== undefined && keep.keeps(proto, dport);
      sp = keep !== undefined && keep.keeps(proto, sport);
    }
    const times = this.times, strings = this.strings, fragments = c.dFragments[i]!, spikes = c.spikes[i]!, timing = c.timingFlags[i]!;
    return `{"bytes":${c.dBytes[i]!},"bytes_total":${c.bytes[i]!}${dp ? `,"dport":${dport}` : ""},"dst":${dst}${dstToken},"family":${family}` +
      `,"first_seen":${times.text(c.firstSeen[i]!)}${fragments ? `,"fragments":${fragments}` : ""}` +
      `${proto === 1 || proto === 58 ? `,"icmp_code":${dport & 0xff},"icmp_type":${dport >> 8}` : ""},"iface":${strings.text(iface)}` +
      `,"last_seen":${times.text(c.lastSeen[i]!)},"packets":${c.dPackets[i]!},"packets_total":${c.packets[i]!},"proto":${proto}` +
      `,"reason":${strings.text(c.reason[i]!)}${rid ? `,"rid":${jsonString(rid)}` : ""}${sealed}${spikes ? `,"spikes_total":${spikes}` : ""}` +
      `${sp ? `,"sport":${sport}` : ""},"src":${src}${srcToken}${proto === TCP ? `,"tcp_flags":${c.tcpFlags[i]!}` : ""}` +
      `${timing ? `,"timing_flags_total":${timing}` : ""}${vlan ? `,"vlan":${vlan}` : ""}${inner ? `,"vlan_inner":${inner}` : ""}}`;
  }

  /**
   * The lines of records at.. of chunk c written whole by native code (asm/flow_lines.asm, the
   * bytes `text` gives, test/collector/chunk-line.test.ts), for encode.ts's encodeTexts; undefined
   * where there is none (not x86-64, or the masker's object path, or ports kept). It leaves the
   * records it does not write (IPv6 among them) to `text`. Call after mask.
   */
  lines(c: DueChunk, at: number, ifaceOf: (ifindex: number) => string): LineWriter | undefined {
    if (this.general || this.keep !== undefined) return undefined;
    const lib = nativeScan();
    if (!lib) return undefined;
    if (this.native?.chunk !== c) {
      const a = this.lineArrays(c);
      this.native = { chunk: c, a, ints: this.lineInts(a.consts), f: new Float64Array(3) };
    }
    const native = this.native, { a, ints, f } = native;
    let ifindex = -1; // the interface names are the collector's of this cycle: taken again for each append
    const write: LineWriter = (w, from, n, env, firstSeq, spans) => {
      if (env !== native.env) { // one per append: copied once, not per call
        if (env.head.length > REGION || env.mid.length > REGION || env.tail.length > REGION) return from;
        a.consts.set(env.head, AT_HEAD); ints[6] = env.head.length;
        a.consts.set(env.mid, AT_MID); ints[8] = env.mid.length;
        a.consts.set(env.tail, AT_TAIL); ints[10] = env.tail.length;
        native.env = env;
      }
      ints[4] = at;
      f[2] = firstSeq;
      this.times.clock.msOffset(f);
      a.spans = spans;
      for (;;) {
        const ix = c.ifindex(at + from);
        if (ix !== ifindex) {
          const name = utf8.encode(jsonString(ifaceOf(ix)));
          if (name.length > REGION) return from;
          a.consts.set(name, AT_IFACE);
          ints[12] = name.length;
          ifindex = ints[3] = ix;
        }
        w.ensure((n - from) * (LINE_ROOM + ints[6]! + ints[8]! + ints[10]! + ints[12]!));
        a.out = w.buf;
        ints[0] = w.pos;
        ints[1] = w.buf.length;
        const k = lib.lines(a, ints, f, from, n);
        w.pos = ints[0]!;
        if (k >= n || ints[LINE_STOP] !== 1) return k;
        from = k; // another interface: its name, and on
      }
    };
    // The records after a stop that the routine refuses too, by their family alone (it writes IPv4 only).
    const keys = c.keys;
    write.textUntil = (from, n) => {
      let k = from + 1;
      while (k < n && keys[(at + k) * FLOW_KEY.size + FLOW_KEY.family] !== 4) k++;
      return k;
    };
    return write;
  }

  private lineArrays(c: DueChunk): LineArrays {
    return {
      keys: c.keys, slots: this.slots, dPackets: c.dPackets, dBytes: c.dBytes, dFragments: c.dFragments, packets: c.packets, bytes: c.bytes,
      firstSeen: c.firstSeen, lastSeen: c.lastSeen, tcpFlags: c.tcpFlags, timingFlags: c.timingFlags, spikes: c.spikes, reasonCode: c.reasonCode,
      consts: new Uint8Array(5 * REGION), out: new Uint8Array(0), spans: new Uint32Array(0),
    };
  }

  /** asm/flow_lines.asm's ints with what stays: the prefix, the texts' places, the reasons' texts (written into consts here). */
  private lineInts(consts: Uint8Array): Uint32Array {
    const ints = new Uint32Array(LINE_INTS);
    ints[2] = this.prefix4;
    ints[5] = AT_HEAD; ints[7] = AT_MID; ints[9] = AT_TAIL; ints[11] = AT_IFACE;
    let p = AT_REASONS;
    REASONS.forEach((r, code) => {
      const t = utf8.encode(jsonString(r));
      consts.set(t, p);
      ints[13 + 2 * code] = p;
      ints[14 + 2 * code] = t.length;
      p += t.length;
    });
    return ints;
  }

  /** Flow i's masked source (0) or destination (1), quoted: IPv4 from the cache, IPv6 formatted. */
  private address(i: number, which: 0 | 1, family: 4 | 6): string {
    const slot = 2 * i + which;
    if (family === 6) return `"${formatAddress(6, this.slots.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES), this.prefix6)}"`;
    const a = this.slotWords[slot * SLOT_WORDS]!;
    let t = this.v4.get(a);
    if (t === undefined) {
      if (this.v4.size >= V4_CACHE_MAX) this.v4.clear();
      this.v4.set(a, (t = `"${formatAddress(4, this.slots.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES), this.prefix4)}"`));
    }
    return t;
  }
}

/**
 * What Masker.maskKeys writes, in JavaScript (the oracle test/collector/chunk-line.test.ts compares
 * it with): each key's src and dst copied to its slot pair, then masked by its family.
 */
export function maskKeysOracle(masker: Masker, keys: Uint8Array, n: number, slots: Uint8Array): void {
  const sel = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const at = i * FLOW_KEY.size;
    slots.set(keys.subarray(at + FLOW_KEY.src, at + FLOW_KEY.src + SLOT_BYTES), 2 * i * SLOT_BYTES);
    slots.set(keys.subarray(at + FLOW_KEY.dst, at + FLOW_KEY.dst + SLOT_BYTES), (2 * i + 1) * SLOT_BYTES);
    sel[2 * i] = sel[2 * i + 1] = keys[at + FLOW_KEY.family] === 6 ? 1 : 0;
  }
  masker.maskSlots(slots.subarray(0, 2 * n * SLOT_BYTES), sel);
}
