/**
 * The logs a witness accepts: per origin, the public keys whose note signatures it trusts.
 * Given as `ORIGIN=PUBKEY.pem` (Ed25519 or ECDSA P-256, key name = the origin, as `ato run`
 * signs by default), `ORIGIN=KEYNAME:PUBKEY.pem` when the log signs under another name, or
 * `ORIGIN=<vkey>` (a signed-note Ed25519 verifier key).
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { keyId, type NoteSignature } from "../evidence/index.ts";
import { algorithmOfSpki, spkiFromPem, verifySignature, type SignatureAlgorithm } from "../signer/index.ts";
import { ed25519Spki } from "./ed25519.ts";
import { TYPE_ED25519, checkKeyName, parseVerifierKey } from "./vkey.ts";

export interface LogKey {
  keyName: string;
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
  keyId: Uint8Array;
}

export type TrustedLogs = Map<string, LogKey[]>;

export function parseLogSpec(spec: string, logs: TrustedLogs = new Map()): TrustedLogs {
  const at = spec.indexOf("="); // origins hold no '='; a vkey's base64 may end in one
  if (at <= 0) throw new AtoError(`--log '${spec.slice(0, 120)}' is not ORIGIN=PUBKEY.pem or ORIGIN=VKEY`, "USAGE");
  const origin = spec.slice(0, at);
  const value = spec.slice(at + 1);
  if (!/^\S[^\n]*$/.test(origin) || /\s$/.test(origin)) throw new AtoError(`--log origin '${origin.slice(0, 80)}' is not one line without leading or trailing spaces`, "USAGE");
  const key = /^[^+\s]+\+[0-9a-f]{8}\+/.test(value) ? fromVkey(value) : fromPem(origin, value);
  logs.set(origin, [...(logs.get(origin) ?? []), key]);
  return logs;
}

function fromVkey(value: string): LogKey {
  const v = parseVerifierKey(value);
  if (v.type !== TYPE_ED25519) throw new AtoError(`--log key '${v.name}' is of type 0x0${v.type}; a log signs its checkpoints with type 0x01 (Ed25519)`, "USAGE");
  const spkiDer = ed25519Spki(v.publicKey);
  return { keyName: v.name, algorithm: "ed25519", spkiDer, keyId: v.keyId };
}

function fromPem(origin: string, value: string): LogKey {
  const colon = value.indexOf(":");
  const keyName = colon > 0 && !value.startsWith("/") ? value.slice(0, colon) : origin;
  const path = colon > 0 && !value.startsWith("/") ? value.slice(colon + 1) : value;
  checkKeyName(keyName);
  let spkiDer: Uint8Array;
  try {
    spkiDer = spkiFromPem(readFileSync(path, "utf8"));
  } catch (e) {
    throw new AtoError(`--log ${origin}: cannot use the public key ${path}: ${(e as Error).message}`, "USAGE", { cause: e });
  }
  const algorithm = algorithmOfSpki(spkiDer)!;
  return { keyName, algorithm, spkiDer, keyId: keyId(keyName, algorithm, spkiDer) };
}

/** Signatures of unknown keys are ignored (signed-note); true when one known key's verifies. */
export function verifiedByLog(keys: LogKey[], text: string, signatures: NoteSignature[]): boolean {
  const bytes = new TextEncoder().encode(text);
  return signatures.some((s) => keys.some((k) => k.keyName === s.keyName && Buffer.from(k.keyId).equals(Buffer.from(s.keyId)) && verifySignature(k.spkiDer, k.algorithm, bytes, s.signature)));
}
