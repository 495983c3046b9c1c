/**
 * A small state file of ato's own (the hash cache, the last run's configuration and build), kept in the attest
 * directory and signed by the token's key: <name> (canonical JSON) and <name>.sig. Whoever can write the audit
 * directory cannot make ato believe a file it did not write: loadSigned() returns the document only when its
 * signature checks under the token's key and it names that key; anything else (absent, unreadable, edited,
 * re-signed, not JSON, another format) is one reason, and the caller starts from nothing.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";
import { canonicalize } from "../evidence/index.ts";
import { replaceFileSync } from "../log/durable.ts";
import { verifySignature, type CheckpointSigner, type SignatureAlgorithm } from "../signer/index.ts";
import { sha256Hex } from "./digest.ts";

export interface Trust {
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
}

export type Loaded = { doc: Record<string, unknown> } | { absent: true } | { ignored: string };

export function loadSigned(path: string, format: string, trust: Trust | null): Loaded {
  if (!existsSync(path)) return { absent: true };
  if (!trust) return { ignored: "the token's key could not be read to check its signature" };
  let bytes: Buffer, sig: Buffer;
  try {
    bytes = readFileSync(path);
    sig = readFileSync(`${path}.sig`);
  } catch (e) {
    return { ignored: `cannot read it or its signature: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (!verifySignature(trust.spkiDer, trust.algorithm, bytes, sig)) return { ignored: "its signature does not match the token's key" };
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { ignored: "not JSON" };
  }
  const d = doc as Record<string, unknown>;
  if (typeof d !== "object" || d === null || d.format !== format) return { ignored: `not a ${format} document` };
  if (d.key_sha256 !== sha256Hex(trust.spkiDer)) return { ignored: "it names another key" };
  return { doc: d };
}

/** Writes `doc` (with its format and key) and its signature, durably. Throws AtoError("IO"/"HSM"). */
export function saveSigned(path: string, format: string, doc: Record<string, unknown>, signer: CheckpointSigner, what: string): void {
  const bytes = Buffer.from(canonicalize({ ...doc, format, key_sha256: sha256Hex(signer.publicKeySpkiDer()) }) + "\n");
  const sig = signer.sign(bytes);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new AtoError(`cannot create ${dirname(path)} for ${what}: ${(e as Error).message}`, "IO", { cause: e });
  }
  // The signature first: a crash between the two leaves a file its signature does not match, which is ignored.
  replaceFileSync(`${path}.sig`, sig, { mode: 0o640, what: `${what}'s signature` });
  replaceFileSync(path, bytes, { mode: 0o640, what });
}
