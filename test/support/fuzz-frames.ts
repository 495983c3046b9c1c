/**
 * Random frames for the differential fuzz test of the XDP parser, from a seeded generator so a
 * failure replays: Ethernet with 0-3 VLAN tags; IPv4 with options and fragments; IPv6 with chains
 * of every extension header (hop-by-hop, routing, fragment, destination options, AH) of every
 * length, longer than the program's walk too; TCP with options, UDP, ICMP, ICMPv6, others; then
 * padding, and mutations: length fields that lie, truncation, stray bytes.
 *
 * A built frame is honest (lengths right) until mutated; `fields` records where its length and
 * type fields are, so that mutations lie in the places a parser follows.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  constructor(private s: number) {}
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() / 2 ** 32 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  bytes(n: number): number[] { return Array.from({ length: n }, () => this.int(256)); }
}

/** A field a mutation may lie in: its offset, and its width (a nibble high or low, or bytes). */
export interface Field { at: number; kind: "u8" | "u16" | "hi4" | "lo4" }

export interface Built { frame: Uint8Array; fields: Field[]; note: string }

/** BPF_PROG_TEST_RUN hands a non-frags XDP program at most this much as one buffer (4 KiB page less head- and tailroom). */
export const MAX_LINEAR = 3520;

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const EXT_KINDS = [0, 43, 44, 60, 51] as const;

export function buildFrame(r: Rng): Built {
  const b: number[] = [...r.bytes(12)];
  const fields: Field[] = [];
  const notes: string[] = [];
  const tags = r.pick([0, 0, 0, 0, 1, 1, 2, 2, 3]);
  for (let i = 0; i < tags; i++) {
    fields.push({ at: b.length, kind: "u16" });
    b.push(...u16(r.pick([0x8100, 0x88a8])), ...u16(r.int(0x10000)));
  }
  if (tags) notes.push(`${tags} tags`);
  const l3kind = r.int(20);
  const etherType = l3kind < 12 ? 0x0800 : l3kind < 19 ? 0x86dd : r.pick([0x0806, 0x88cc, 0x8100, r.int(0x10000)]);
  fields.push({ at: b.length, kind: "u16" });
  b.push(...u16(etherType));
  const l3 = b.length;
  if (etherType === 0x0800) notes.push(ipv4(r, b, fields));
  else if (etherType === 0x86dd) notes.push(ipv6(r, b, fields));
  else { notes.push(`ethertype ${etherType.toString(16)}`); b.push(...r.bytes(r.int(64))); }
  if (b.length - l3 > 0xffff || b.length > MAX_LINEAR) b.length = Math.min(b.length, MAX_LINEAR, l3 + 0xffff);
  // Lengths from the honest build, then padding the IP packet does not cover.
  if (etherType === 0x0800) b.splice(l3 + 2, 2, ...u16(b.length - l3));
  if (etherType === 0x86dd) b.splice(l3 + 4, 2, ...u16(b.length - l3 - 40));
  if (r.chance(0.3)) { const n = 1 + r.int(48); b.push(...(r.chance(0.5) ? new Array(n).fill(0) : r.bytes(n))); notes.push("padded"); }
  return { frame: Uint8Array.from(b.slice(0, MAX_LINEAR)), fields, note: notes.join(", ") };
}

function ipv4(r: Rng, b: number[], fields: Field[]): string {
  const l3 = b.length;
  const optWords = r.chance(0.3) ? 1 + r.int(10) : 0;
  const frag = r.pick(["none", "none", "none", "df", "first", "middle", "last"] as const);
  const fo = frag === "df" ? 0x4000 : frag === "first" ? 0x2000 : frag === "middle" ? 0x2000 | (1 + r.int(0x1fff)) : frag === "last" ? 1 + r.int(0x1fff) : 0;
  const proto = r.pick([6, 6, 17, 17, 1, 58, 47, r.int(256)]);
  fields.push({ at: l3, kind: "hi4" }, { at: l3, kind: "lo4" }, { at: l3 + 2, kind: "u16" }, { at: l3 + 6, kind: "u16" }, { at: l3 + 9, kind: "u8" });
  b.push(0x40 | (5 + optWords), r.int(256), 0, 0, ...r.bytes(2), ...u16(fo), 64, proto, 0, 0, ...r.bytes(8));
  // Options: a router alert (RFC 2113) or NOPs, then NOPs: noise is the mutations' part.
  for (let i = 0; i < optWords; i++) b.push(...(r.chance(0.3) ? [0x94, 4, 0, 0] : [1, 1, 1, 1]));
  l4(r, b, fields, proto);
  return `ipv4 ihl ${5 + optWords} ${frag} proto ${proto}`;
}

function ipv6(r: Rng, b: number[], fields: Field[]): string {
  const l3 = b.length;
  const chain = Array.from({ length: r.pick([0, 0, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 10]) }, () => r.pick(EXT_KINDS));
  const proto = r.pick([6, 6, 17, 17, 58, 1, 59, 47, r.int(256)]);
  fields.push({ at: l3, kind: "hi4" }, { at: l3 + 4, kind: "u16" }, { at: l3 + 6, kind: "u8" });
  b.push(0x60 | r.int(16), ...r.bytes(3), 0, 0, chain[0] ?? proto, 64, ...r.bytes(32));
  const kinds: string[] = [];
  chain.forEach((kind, i) => {
    const next = chain[i + 1] ?? proto;
    const at = b.length;
    fields.push({ at, kind: "u8" }, { at: at + 1, kind: "u8" });
    if (kind === 44) {
      const off = r.chance(0.5) ? 0 : 1 + r.int(0x1fff);
      fields.push({ at: at + 2, kind: "u16" });
      b.push(next, 0, ...u16((off << 3) | r.int(8)), ...r.bytes(4));
      kinds.push(off ? "frag+" : "frag0");
    } else if (kind === 51) {
      const len = r.chance(0.1) ? 0 : r.chance(0.9) ? 1 + r.int(6) : r.int(256);
      b.push(next, len, ...r.bytes((len + 2) * 4 - 2));
      kinds.push(`ah${len}`);
    } else if (kind === 43) {
      // A routing header of a type without its own layout (not 4, segment routing), random data,
      // of an even length: scapy (the reference's cross-check) reads any other type as 16-byte addresses.
      const len = 2 * (r.chance(0.9) ? r.int(3) : r.int(128));
      b.push(next, len, r.pick([0, 2, 3, 253, 254]), r.int(256), ...r.bytes((len + 1) * 8 - 4));
      kinds.push(`${kind}/${len}`);
    } else {
      // Options: one PadN covering the body, as a sender pads (noise is the mutations' part).
      const len = r.chance(0.9) ? r.int(4) : r.int(256);
      b.push(next, len, 1, (len + 1) * 8 - 4, ...new Array((len + 1) * 8 - 4).fill(0));
      kinds.push(`${kind}/${len}`);
    }
  });
  l4(r, b, fields, proto);
  return `ipv6 [${kinds.join(" ")}] proto ${proto}`;
}

function l4(r: Rng, b: number[], fields: Field[], proto: number): void {
  const at = b.length;
  if (proto === 6) {
    const doff = r.chance(0.7) ? 5 : 5 + r.int(11);
    fields.push({ at: at + 12, kind: "hi4" });
    b.push(...r.bytes(12), doff << 4, r.int(256), ...r.bytes(6), ...r.bytes((doff - 5) * 4));
  } else if (proto === 17) {
    const payload = r.int(40);
    fields.push({ at: at + 4, kind: "u16" });
    b.push(...r.bytes(4), ...u16(8 + payload), 0, 0, ...r.bytes(payload));
    return;
  } else if (proto === 1 || proto === 58) {
    b.push(...r.bytes(8));
  }
  b.push(...r.bytes(r.int(32)));
}

/** A lie in one field: a random value, or the honest one off by a little. */
function lie(r: Rng, f: Uint8Array, fd: Field): void {
  if (fd.at + (fd.kind === "u16" ? 2 : 1) > f.length) return;
  const d = (r.chance(0.5) ? 1 : -1) * (1 + r.int(8));
  if (fd.kind === "u16") {
    const v = r.chance(0.5) ? r.int(0x10000) : (((f[fd.at]! << 8) | f[fd.at + 1]!) + d) & 0xffff;
    f[fd.at] = v >> 8; f[fd.at + 1] = v & 0xff;
  } else if (fd.kind === "u8") {
    f[fd.at] = r.chance(0.5) ? r.int(256) : (f[fd.at]! + d) & 0xff;
  } else {
    const nib = r.int(16), shift = fd.kind === "hi4" ? 4 : 0;
    f[fd.at] = (f[fd.at]! & ~(0xf << shift)) | (nib << shift);
  }
}

/** Zero to three mutations: lies in length and type fields, a cut, a stray byte. */
export function mutate(r: Rng, built: Built): { frame: Uint8Array; note: string } {
  let f = Uint8Array.from(built.frame);
  const notes: string[] = [];
  const n = r.pick([0, 0, 1, 1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    const m = r.int(10);
    if (m < 5 && built.fields.length) { lie(r, f, r.pick(built.fields)); notes.push("lie"); }
    else if (m < 8) { f = f.slice(0, 14 + r.int(f.length - 13)); notes.push(`cut ${f.length}`); }
    else { f[r.int(f.length)] = r.int(256); notes.push("byte"); }
  }
  return { frame: f, note: notes.length ? `${built.note}; ${notes.join(", ")}` : built.note };
}
