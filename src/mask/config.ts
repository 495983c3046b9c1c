/**
 * Masking options: their defaults (IPv4 /24, IPv6 /48, no L4 port kept, no tokens, no sealing, SIMD path chosen
 * by the CPU) and how they are read from the environment. Keys come only from the environment or a key file
 * (src/mask/keys.ts); flags may set the rest by spreading over these.
 */
import type { KeyObject } from "node:crypto";
import type { SimdChoice } from "../../ffi/mask.ts";
import { AtoError } from "../errors.ts";
import { loadKey, SEAL_KEY_ENV, TOKEN_KEY_ENV } from "./keys.ts";
import { PortPolicy } from "./ports.ts";
import { checkPrefix, DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX } from "./prefix.ts";
import type { AddressFamily } from "./slot.ts";

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

export const MASK_ENV = {
  ipv4Prefix: "ATO_MASK_IPV4_PREFIX",
  ipv6Prefix: "ATO_MASK_IPV6_PREFIX",
  keepPorts: "ATO_MASK_KEEP_PORTS",
  simd: "ATO_MASK_SIMD",
} as const;

export function defaultMaskOptions(): MaskOptions {
  return { ipv4Prefix: DEFAULT_IPV4_PREFIX, ipv6Prefix: DEFAULT_IPV6_PREFIX, keepPorts: PortPolicy.NONE, simd: "auto" };
}

/** The defaults, overridden by whichever MASK_ENV variables and keys the environment sets. */
export function maskOptionsFromEnv(env: Record<string, string | undefined> = process.env): MaskOptions {
  const options = defaultMaskOptions();
  const v4 = env[MASK_ENV.ipv4Prefix];
  const v6 = env[MASK_ENV.ipv6Prefix];
  const ports = env[MASK_ENV.keepPorts];
  const simd = env[MASK_ENV.simd];
  if (v4) options.ipv4Prefix = parsePrefix(4, v4, MASK_ENV.ipv4Prefix);
  if (v6) options.ipv6Prefix = parsePrefix(6, v6, MASK_ENV.ipv6Prefix);
  if (ports) options.keepPorts = PortPolicy.parse(ports, MASK_ENV.keepPorts);
  if (simd) options.simd = parseSimd(simd, MASK_ENV.simd);
  options.tokenKey = loadKey(TOKEN_KEY_ENV, env);
  options.sealKey = loadKey(SEAL_KEY_ENV, env);
  return options;
}

/** A prefix length given as text ("24", "/24"); `source` names where it came from in errors. */
export function parsePrefix(family: AddressFamily, text: string, source: string): number {
  const m = /^\/?(\d{1,3})$/.exec(text.trim());
  const bits = m ? Number(m[1]) : NaN;
  const max = family === 4 ? 32 : 128;
  if (!m || bits > max) throw new AtoError(`${source}: expected an IPv${family} prefix length 0-${max}, found "${text}"`, "CONFIG");
  return checkPrefix(family, bits);
}

function parseSimd(text: string, source: string): SimdChoice {
  if (text === "auto" || text === "sse2" || text === "avx2") return text;
  throw new AtoError(`${source}: expected auto, sse2 or avx2, found "${text}"`, "CONFIG");
}
