/**
 * Timestamped Ed25519 cosignatures, c2sp.org/tlog-cosignature (cosignature/v1, type 0x04).
 * The signed message is
 *
 *   cosignature/v1\n
 *   time <POSIX seconds>\n
 *   <the whole checkpoint note text, extension lines included, with its final newline>
 *
 * and the note signature is base64(key ID || u64 big-endian timestamp || 64-byte signature).
 */
import { AtoError } from "../errors.ts";
import { formatSignedNote, type NoteSignature } from "../evidence/index.ts";
import { verifyEd25519 } from "./ed25519.ts";
import { TYPE_COSIGNATURE_V1, type VerifierKey } from "./vkey.ts";

export const COSIGNATURE_HEADER = "cosignature/v1";

export function cosignedMessage(checkpointText: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new AtoError(`cosignature timestamp ${timestamp} is not a POSIX time`, "INTERNAL");
  return new TextEncoder().encode(`${COSIGNATURE_HEADER}\ntime ${timestamp}\n${checkpointText}`);
}

/** What a witness's key does: sign bytes with Ed25519. */
export interface CosignerKey {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export async function cosign(key: CosignerKey, checkpointText: string, timestamp: number): Promise<NoteSignature> {
  const sig = await key.sign(cosignedMessage(checkpointText, timestamp));
  if (sig.length !== 64) throw new AtoError(`the witness key returned a ${sig.length}-byte signature, not 64`, "HSM");
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  return { keyName: key.name, keyId: key.keyId, signature: Buffer.concat([ts, sig]) };
}

/** The note signature line of a cosignature, with its newline: what add-checkpoint answers. */
export function cosignatureLine(s: NoteSignature): string {
  return formatSignedNote("", [s]).slice(1);
}

export type CosignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks one note signature as a cosignature of `checkpointText` by `key`. The caller has
 * matched name and key ID already (signatures of unknown keys are ignored, not failed).
 */
export function verifyCosignature(key: VerifierKey, checkpointText: string, s: NoteSignature): CosignatureCheck {
  if (key.type !== TYPE_COSIGNATURE_V1) return { ok: false, reason: `key '${key.name}' is not a cosignature/v1 (0x04) key` };
  if (s.signature.length !== 72) return { ok: false, reason: `a cosignature/v1 is 8 + 64 bytes; this one is ${s.signature.length}` };
  const ts = Buffer.from(s.signature.subarray(0, 8)).readBigUInt64BE();
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: `timestamp ${ts} is out of range` };
  const timestamp = Number(ts);
  if (!verifyEd25519(key.publicKey, cosignedMessage(checkpointText, timestamp), s.signature.subarray(8))) {
    return { ok: false, reason: `the cosignature of '${key.name}' at time ${timestamp} does not verify` };
  }
  return { ok: true, timestamp };
}

export function matchesKey(key: VerifierKey, s: NoteSignature): boolean {
  return s.keyName === key.name && Buffer.from(s.keyId).equals(Buffer.from(key.keyId));
}
