/**
 * Key IDs of C2SP signed-note: the first four bytes of
 *   SHA-256(key name || 0x0A || signature type || public key)
 * Ed25519 is type 0x01 with the 32-byte RFC 8032 public key, as signed-note specifies.
 * ECDSA P-256 uses type 0x02, the byte signed-note assigns to ECDSA signatures, with the
 * DER SubjectPublicKeyInfo as the public key. (signed-note notes that transparency-dev's
 * witness derives 0x02 key IDs from the SPKI alone; ato keeps the recommended formula for
 * both types so that one rule, with the key name in it, covers every checkpoint.)
 */
import { AtoError } from "../errors.ts";
import { sha256 } from "../tree/index.ts";

/** The checkpoint signing algorithms the log format knows (signer, `ato hsm init --key-type` and verify use this list). */
export const SIGNATURE_ALGORITHMS = ["ed25519", "ecdsa-p256"] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export const SIGNATURE_TYPE: Record<SignatureAlgorithm, number> = { ed25519: 0x01, "ecdsa-p256": 0x02 };

/** SPKI DER of an Ed25519 key: this fixed 12-byte header (RFC 8410 §4), then the 32-byte key. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function notePublicKey(algorithm: SignatureAlgorithm, spkiDer: Uint8Array): Uint8Array {
  if (algorithm === "ecdsa-p256") return spkiDer;
  const prefix = spkiDer.subarray(0, ED25519_SPKI_PREFIX.length);
  if (spkiDer.length !== 44 || !ED25519_SPKI_PREFIX.equals(prefix)) throw new AtoError("expected a 44-byte Ed25519 SubjectPublicKeyInfo", "CORRUPT");
  return spkiDer.subarray(12);
}

export function keyId(keyName: string, algorithm: SignatureAlgorithm, spkiDer: Uint8Array): Uint8Array {
  const input = Buffer.concat([Buffer.from(`${keyName}\n`, "utf8"), Uint8Array.of(SIGNATURE_TYPE[algorithm]), notePublicKey(algorithm, spkiDer)]);
  return sha256(input).subarray(0, 4);
}

export function keyIdHex(id: Uint8Array): string {
  return Buffer.from(id).toString("hex");
}
