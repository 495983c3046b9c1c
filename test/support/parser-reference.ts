/**
 * What the XDP program must record for one frame, written from its contract (the comments of
 * bpf/parse.h and bpf/xdp_audit.h, README "What `bytes` counts"), not from its C code: the
 * differential fuzz test (test/kernel/fuzz.test.ts) holds the real program to this, field by field.
 *
 * The contract, as this file reads it:
 *  - Ethernet (14 bytes), then up to two VLAN tags (TPID 0x8100 or 0x88a8, in either order, 4
 *    bytes each); a third tag makes the frame non-IP. A frame whose EtherType announces a tag is
 *    VLAN-tagged, whatever follows. vlan is the outer tag's VID, vlanInner the second's.
 *  - EtherType 0x0800 is IPv4, 0x86dd IPv6, anything else non-IP.
 *  - IPv4: version 4, IHL >= 5, the IHL*4-byte header in the frame, IHL*4 <= total length <= what
 *    the frame holds from the IP header on. IPv6: version 6, 40 + payload length <= what the
 *    frame holds. bytes is that IP length; the rest of the frame is padding, never read.
 *  - IPv6 extension headers (hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51)
 *    are walked, six at most: a seventh is malformed and counted in ext_hdr_limit. Lengths: AH
 *    (len + 2) * 4 and at least 12, fragment 8, others (len + 1) * 8. Each lies inside the IP packet.
 *  - A fragment is an IPv4 packet with MF or a nonzero offset, or an IPv6 packet with a fragment
 *    header whose M flag or offset is set. A fragment with a nonzero offset has no L4 header: the
 *    walk stops, proto is the header it names, ports 0.
 *  - L4, inside the IP packet: TCP (data offset >= 5, the whole header present; flags byte 13),
 *    UDP (8 bytes, length field >= 8), ICMP over IPv4 and ICMPv6 over IPv6 (8 bytes; dport is
 *    type << 8 | code). Other protocols: a flow without ports.
 *  - Anything truncated or inconsistent is malformed: counted, never a flow.
 */

export type PacketClass = "ipv4" | "ipv6" | "non_ip" | "malformed";

export interface ExpectedFlow {
  family: 4 | 6; proto: number; src: string; dst: string;
  sport: number; dport: number; vlan: number; vlanInner: number;
  bytes: number; tcpFlags: number; fragment: boolean;
}

export interface Expected {
  cls: PacketClass;
  vlanTagged: boolean;
  extLimit: boolean;
  flow?: ExpectedFlow;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const isVlan = (t: number) => t === 0x8100 || t === 0x88a8;
const EXT = new Set([0, 43, 44, 60, 51]);

export function reference(f: Uint8Array): Expected {
  const be16 = (o: number) => (f[o]! << 8) | f[o + 1]!;
  let vlanTagged = false;
  const bad = (extLimit = false): Expected => ({ cls: "malformed", vlanTagged, extLimit });

  if (f.length < 14) return bad();
  let type = be16(12), o = 14;
  const vids: number[] = [];
  while (isVlan(type)) {
    vlanTagged = true;
    if (vids.length === 2) return { cls: "non_ip", vlanTagged, extLimit: false };
    if (o + 4 > f.length) return bad();
    vids.push(be16(o) & 0xfff);
    type = be16(o + 2);
    o += 4;
  }
  if (type !== 0x0800 && type !== 0x86dd) return { cls: "non_ip", vlanTagged, extLimit: false };

  const l3 = o;
  let family: 4 | 6, proto: number, end: number, fragment = false, nonfirst = false, src: string, dst: string;
  if (type === 0x0800) {
    if (l3 + 20 > f.length || f[l3]! >> 4 !== 4) return bad();
    const hlen = (f[l3]! & 0xf) * 4, total = be16(l3 + 2);
    if (hlen < 20 || l3 + hlen > f.length || total < hlen || l3 + total > f.length) return bad();
    family = 4; proto = f[l3 + 9]!; end = l3 + total;
    src = hex(f.subarray(l3 + 12, l3 + 16)); dst = hex(f.subarray(l3 + 16, l3 + 20));
    const fo = be16(l3 + 6);
    fragment = (fo & 0x3fff) !== 0; // MF (0x2000) or an offset (0x1fff); DF (0x4000) is not a fragment
    nonfirst = (fo & 0x1fff) !== 0;
    o = l3 + hlen;
  } else {
    if (l3 + 40 > f.length || f[l3]! >> 4 !== 6) return bad();
    end = l3 + 40 + be16(l3 + 4);
    if (end > f.length) return bad();
    family = 6; proto = f[l3 + 6]!;
    src = hex(f.subarray(l3 + 8, l3 + 24)); dst = hex(f.subarray(l3 + 24, l3 + 40));
    o = l3 + 40;
    let walked = 0;
    while (EXT.has(proto) && !nonfirst) {
      if (walked === 6) return bad(true);
      if (o + 2 > end) return bad();
      const len = proto === 44 ? 8 : proto === 51 ? (f[o + 1]! + 2) * 4 : (f[o + 1]! + 1) * 8;
      if ((proto === 51 && len < 12) || o + len > end) return bad();
      if (proto === 44) {
        const fo = be16(o + 2);
        if (fo & 0xfff9) fragment = true; // offset (0xfff8) or M (0x0001); bits 1-2 are reserved
        if (fo & 0xfff8) nonfirst = true;
      }
      proto = f[o]!;
      o += len;
      walked++;
    }
  }

  let sport = 0, dport = 0, tcpFlags = 0;
  if (!nonfirst) {
    if (proto === 6) {
      if (o + 20 > end) return bad();
      const doff = (f[o + 12]! >> 4) * 4;
      if (doff < 20 || o + doff > end) return bad();
      sport = be16(o); dport = be16(o + 2); tcpFlags = f[o + 13]!;
    } else if (proto === 17) {
      if (o + 8 > end || be16(o + 4) < 8) return bad();
      sport = be16(o); dport = be16(o + 2);
    } else if ((proto === 1 && family === 4) || (proto === 58 && family === 6)) {
      if (o + 8 > end) return bad();
      dport = (f[o]! << 8) | f[o + 1]!;
    }
  }
  return {
    cls: family === 4 ? "ipv4" : "ipv6", vlanTagged, extLimit: false,
    flow: { family, proto, src, dst, sport, dport, vlan: vids[0] ?? 0, vlanInner: vids[1] ?? 0, bytes: end - l3, tcpFlags, fragment },
  };
}
