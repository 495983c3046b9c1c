/**
 * Prefix masks: the 16-byte AND mask that keeps the first `bits` bits of an address slot, and the 2-slot mask
 * table (IPv4 mask, then IPv6 mask) that the masking routine takes.
 */
import { AtoError } from "../errors.ts";
import { addressBits, type AddressFamily, SLOT_BYTES } from "./slot.ts";

/** The defaults: an IPv4 /24 keeps the network, an IPv6 /48 the site. */
export const DEFAULT_IPV4_PREFIX = 24;
export const DEFAULT_IPV6_PREFIX = 48;

/** Throws AtoError("CONFIG") unless `bits` is an integer from 0 to the family's address length. */
export function checkPrefix(family: AddressFamily, bits: number): number {
  const max = addressBits(family);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new AtoError(`IPv${family} prefix length: expected an integer from 0 to ${max}, found ${bits}`, "CONFIG");
  }
  return bits;
}

/** 16 bytes: `bits` leading one bits, then zeros (an IPv4 mask never reaches past byte 4). */
export function prefixMask(family: AddressFamily, bits: number): Uint8Array {
  checkPrefix(family, bits);
  const mask = new Uint8Array(SLOT_BYTES);
  mask.fill(0xff, 0, bits >> 3);
  if (bits & 7) mask[bits >> 3] = (0xff << (8 - (bits & 7))) & 0xff;
  return mask;
}

/** The routine's mask table: mask 0 for IPv4 slots, mask 1 for IPv6 slots. */
export function maskTable(ipv4Bits: number, ipv6Bits: number): Uint8Array {
  const table = new Uint8Array(2 * SLOT_BYTES);
  table.set(prefixMask(4, ipv4Bits), 0);
  table.set(prefixMask(6, ipv6Bits), SLOT_BYTES);
  return table;
}
