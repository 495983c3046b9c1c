/**
 * What sealing protects in a flow record: the unmasked addresses and ports, as canonical JSON (sorted keys, no
 * spaces) sealed under the record's identity; and the reverse, for a key holder who reveals them.
 */
import { AtoError } from "../errors.ts";
import type { Sealer } from "./seal.ts";

/** Full addresses as text; ports only for protocols that have them. */
export interface FlowFields {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export function sealFlowFields(sealer: Sealer, fields: FlowFields, identity: string): string {
  const sorted: Record<string, string | number> = {};
  for (const key of Object.keys(fields).sort()) {
    const value = fields[key as keyof FlowFields];
    if (value !== undefined) sorted[key] = value;
  }
  return sealer.seal(JSON.stringify(sorted), identity);
}

/** Opens a sealed value (errors as Sealer.unseal) and checks it holds flow fields (else CORRUPT). */
export function revealFlowFields(sealer: Sealer, sealed: string, identity: string): FlowFields {
  const text = sealer.unseal(sealed, identity);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new AtoError("sealed value: expected JSON flow fields inside, found text that is not JSON", "CORRUPT", { cause });
  }
  if (!isFlowFields(value)) {
    throw new AtoError("sealed value: expected an object with src, dst and optional sport/dport inside, found another shape", "CORRUPT");
  }
  return value;
}

function isFlowFields(v: unknown): v is FlowFields {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const port = (p: unknown) => p === undefined || (Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535);
  return typeof o.src === "string" && typeof o.dst === "string" && port(o.sport) && port(o.dport);
}
