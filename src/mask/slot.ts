/**
 * The address slot: 16 bytes per address, as the XDP program stores them (bpf/xdp_audit.h). IPv6 fills the
 * slot; IPv4 uses its first 4 bytes and leaves 12 zero bytes. The masking routine picks a slot's mask by a
 * selector byte: 0 for IPv4, 1 for IPv6.
 */
export const SLOT_BYTES = 16;

/** The numbers bpf/xdp_audit.h uses (ATO_FAMILY_IPV4, ATO_FAMILY_IPV6). */
export type AddressFamily = 4 | 6;

/** Mask-table index of a family: mask 0 is the IPv4 mask, mask 1 the IPv6 mask. */
export function selectorOf(family: AddressFamily): 0 | 1 {
  return family === 4 ? 0 : 1;
}

/** Address bits a family has: 32 or 128. */
export function addressBits(family: AddressFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}
