/**
 * Crafted frames for BPF_PROG_TEST_RUN: Ethernet, VLAN tags, IPv4 (options, fragments), IPv6
 * (extension headers), TCP, UDP, ICMP, ICMPv6. Checksums are left zero: the XDP program never
 * checks them. Each builder returns bytes; `frame()` concatenates layers and fixes lengths.
 */

export const ETH_P = { IPV4: 0x0800, IPV6: 0x86dd, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8 } as const;
export const IPPROTO = { HOPOPTS: 0, ICMP: 1, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, AH: 51, ICMPV6: 58, NONE: 59, DSTOPTS: 60, GRE: 47 } as const;

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

export function ipv4Addr(s: string): Uint8Array {
  return Uint8Array.from(s.split(".").map(Number));
}

export function ipv6Addr(s: string): Uint8Array {
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
  return Uint8Array.from(groups.flatMap(u16));
}

export function eth(type: number, tags: { tpid: number; vid: number }[] = []): Uint8Array {
  const dst = [0x02, 0, 0, 0, 0, 0x02], src = [0x02, 0, 0, 0, 0, 0x01];
  return Uint8Array.from([...dst, ...src, ...tags.flatMap((t) => [...u16(t.tpid), ...u16(t.vid & 0xfff)]), ...u16(type)]);
}

export interface V4 { src: string; dst: string; proto: number; options?: number[]; ihl?: number; fragOffset?: number; moreFragments?: boolean; totalLength?: number }

/** IPv4 header; total length covers `payloadLength` unless overridden (to forge bad lengths). */
export function ipv4(h: V4, payloadLength: number): Uint8Array {
  const opts = h.options ?? [];
  const ihl = h.ihl ?? 5 + Math.ceil(opts.length / 4);
  const hdr = new Uint8Array(20 + Math.ceil(opts.length / 4) * 4);
  hdr[0] = 0x40 | (ihl & 0xf);
  hdr.set(u16(h.totalLength ?? hdr.length + payloadLength), 2);
  const frag = ((h.moreFragments ? 1 : 0) << 13) | ((h.fragOffset ?? 0) & 0x1fff);
  hdr.set(u16(frag), 6);
  hdr[8] = 64;
  hdr[9] = h.proto;
  hdr.set(ipv4Addr(h.src), 12);
  hdr.set(ipv4Addr(h.dst), 16);
  hdr.set(opts, 20);
  return hdr;
}

export function ipv6(src: string, dst: string, nextHeader: number, payloadLength: number): Uint8Array {
  const hdr = new Uint8Array(40);
  hdr[0] = 0x60;
  hdr.set(u16(payloadLength), 4);
  hdr[6] = nextHeader;
  hdr[7] = 64;
  hdr.set(ipv6Addr(src), 8);
  hdr.set(ipv6Addr(dst), 24);
  return hdr;
}

/** A generic extension header (hop-by-hop, routing, destination options): 8 bytes, padded with PadN. */
export function ext(nextHeader: number, lengthUnits = 0): Uint8Array {
  const b = new Uint8Array(8 * (lengthUnits + 1));
  b[0] = nextHeader;
  b[1] = lengthUnits;
  b[2] = 1; // PadN
  b[3] = b.length - 4;
  return b;
}

/**
 * An IPv6 Authentication Header (RFC 4302): its length field counts 4-byte words minus 2, so
 * the default 1 makes the 12-byte minimum (no ICV); 0 forges one shorter than its fixed part.
 */
export function ah(nextHeader: number, lengthField = 1): Uint8Array {
  const b = new Uint8Array((lengthField + 2) * 4);
  b[0] = nextHeader;
  b[1] = lengthField;
  b.set([0, 0, 0x10, 0x01], 4); // SPI
  if (b.length >= 12) b.set([0, 0, 0, 1], 8); // sequence number
  return b;
}

export function fragment6(nextHeader: number, offset8: number, more: boolean): Uint8Array {
  return Uint8Array.from([nextHeader, 0, ...u16((offset8 << 3) | (more ? 1 : 0)), 0, 0, 0, 42]);
}

export function tcp(sport: number, dport: number, flags: number): Uint8Array {
  const b = new Uint8Array(20);
  b.set(u16(sport), 0);
  b.set(u16(dport), 2);
  b[12] = 5 << 4;
  b[13] = flags;
  return b;
}

export function udp(sport: number, dport: number, payload = 0): Uint8Array {
  const b = new Uint8Array(8 + payload);
  b.set(u16(sport), 0);
  b.set(u16(dport), 2);
  b.set(u16(8 + payload), 4);
  return b;
}

export function icmp(type: number, code: number): Uint8Array {
  return Uint8Array.from([type, code, 0, 0, 0, 1, 0, 1]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Ethernet (+tags) / IPv4 / L4 with a correct total length; returns the frame and the IP length. */
export function v4Frame(h: Omit<V4, "proto"> & { proto: number }, l4: Uint8Array, tags: { tpid: number; vid: number }[] = []) {
  const ip = ipv4(h, l4.length);
  return { frame: concat(eth(ETH_P.IPV4, tags), ip, l4), ipBytes: h.totalLength ?? ip.length + l4.length };
}

/** Ethernet (+tags) / IPv6 / extension headers / L4; nextHeader is the first header after IPv6. */
export function v6Frame(src: string, dst: string, nextHeader: number, rest: Uint8Array[], tags: { tpid: number; vid: number }[] = []) {
  const payload = concat(...rest);
  return { frame: concat(eth(ETH_P.IPV6, tags), ipv6(src, dst, nextHeader, payload.length), payload), ipBytes: 40 + payload.length };
}
