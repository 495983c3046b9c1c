/**
 * Masking options and their defaults (IPv4 /24, IPv6 /48, no L4 port kept, no tokens, no sealing, SIMD path
 * chosen by the CPU). Settings are read by src/config (whose table takes these prefix defaults), never here.
 */
import type { KeyObject } from "node:crypto";
import type { SimdChoice } from "../../ffi/mask.ts";
import { PortPolicy } from "./ports.ts";
import { DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX } from "./prefix.ts";

export interface MaskOptions {
  ipv4Prefix: number;
  ipv6Prefix: number;
  keepPorts: PortPolicy;
  /** Set: every masked address also gets a keyed token. */
  tokenKey?: KeyObject;
  /** Set: the unmasked fields are sealed into the record. */
  sealKey?: KeyObject;
  simd: SimdChoice;
}

export function defaultMaskOptions(): MaskOptions {
  return { ipv4Prefix: DEFAULT_IPV4_PREFIX, ipv6Prefix: DEFAULT_IPV6_PREFIX, keepPorts: PortPolicy.NONE, simd: "auto" };
}
