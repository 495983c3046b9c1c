/**
 * Address slots as text and back: IPv4 dotted decimal, IPv6 in the RFC 5952 canonical form (lowercase,
 * leading zeros dropped, the longest run of two or more zero groups as "::", the first on a tie, and
 * IPv4-mapped addresses as ::ffff:a.b.c.d), with "/prefix" appended for a masked address.
 */
import { AtoError } from "../errors.ts";
import { type AddressFamily, SLOT_BYTES } from "./slot.ts";

/** "198.18.1.0/24", "fd00:1:2::/48"; without `prefix`, the address alone. */
export function formatAddress(family: AddressFamily, slot: Uint8Array, prefix?: number): string {
  const text = family === 4 ? formatIPv4(slot, 0) : formatIPv6(slot);
  return prefix === undefined ? text : `${text}/${prefix}`;
}

function formatIPv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function formatIPv6(slot: Uint8Array): string {
  if (isV4Mapped(slot)) return `::ffff:${formatIPv4(slot, 12)}`;
  const groups = Array.from({ length: 8 }, (_, i) => (slot[2 * i] << 8) | slot[2 * i + 1]);
  const [start, length] = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (length < 2) return hex.join(":");
  return `${hex.slice(0, start).join(":")}::${hex.slice(start + length).join(":")}`;
}

function isV4Mapped(slot: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (slot[i] !== 0) return false;
  return slot[10] === 0xff && slot[11] === 0xff;
}

/** [start, length] of the first longest run of zero groups. */
function longestZeroRun(groups: number[]): [number, number] {
  let best: [number, number] = [0, 0];
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best[1]) best = [i, j - i];
    i = j;
  }
  return best;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone) into its family and 16-byte slot. */
export function parseAddress(text: string): { family: AddressFamily; slot: Uint8Array } {
  const slot = new Uint8Array(SLOT_BYTES);
  if (!text.includes(":")) {
    if (!parseIPv4(text, slot, 0)) throw badAddress(text);
    return { family: 4, slot };
  }
  if (!parseIPv6(text, slot)) throw badAddress(text);
  return { family: 6, slot };
}

function badAddress(text: string): AtoError {
  return new AtoError(`expected an IPv4 or IPv6 address, found "${text}"`, "USAGE");
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => DECIMAL_OCTET.test(p) && Number(p) <= 255)) return false;
  parts.forEach((p, i) => (out[at + i] = Number(p)));
  return true;
}

function parseIPv6(text: string, out: Uint8Array): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const all = [...head, ...tail];
  // A trailing dotted quad stands for the last two groups.
  const last = all.at(-1);
  const quad = new Uint8Array(4);
  const hasQuad = last !== undefined && last.includes(".");
  if (hasQuad && (!parseIPv4(last, quad, 0) || (halves.length === 2 && tail.length === 0))) return false;
  const groups: number[] = [];
  for (const g of hasQuad ? all.slice(0, -1) : all) {
    if (!HEX_GROUP.test(g)) return false;
    groups.push(parseInt(g, 16));
  }
  if (hasQuad) groups.push((quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]);
  const missing = 8 - groups.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return false;
  const full = halves.length === 1 ? groups : [...groups.slice(0, head.length), ...new Array(missing).fill(0), ...groups.slice(head.length)];
  full.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return true;
}
