/** Raw Ed25519 public keys as node:crypto key objects, and the checks on them. */
import { createPublicKey, verify, type KeyObject } from "node:crypto";

/** RFC 8410 §4: the SubjectPublicKeyInfo of an Ed25519 key is this 12-byte header, then the key. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  return Buffer.concat([SPKI_PREFIX, publicKey]);
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(ed25519Spki(publicKey)), format: "der", type: "spki" });
}

/** The raw 32 bytes of an Ed25519 SPKI. */
export function rawEd25519(spkiDer: Uint8Array): Uint8Array | undefined {
  return spkiDer.length === 44 && SPKI_PREFIX.equals(spkiDer.subarray(0, 12)) ? spkiDer.subarray(12) : undefined;
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, message, ed25519PublicKeyObject(publicKey), signature);
  } catch {
    return false; // a malformed key or signature is a signature that does not verify
  }
}
