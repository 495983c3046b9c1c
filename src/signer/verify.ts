/**
 * Offline signature check with node:crypto: what `ato verify` runs on a laptop without an HSM,
 * and what the writer runs on every signature its token returns. Must never import pkcs11js.
 */
import { verify } from "node:crypto";
import { algorithmOfKey, publicKeyObject } from "./pem.ts";
import type { SignatureAlgorithm } from "./types.ts";

/** True when `signature` is a valid signature of `message` under the verifier's key. */
export type SignatureCheck = (message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * True when `signature` is a valid `algorithm` signature of `message` under the key.
 * ed25519: 64-byte raw signature over the message; ecdsa-p256: DER ECDSA-Sig-Value over SHA-256(message).
 * A key of another algorithm, or a malformed signature, gives false; a malformed key throws AtoError("CORRUPT").
 */
export function verifySignature(spkiDer: Uint8Array, algorithm: SignatureAlgorithm, message: Uint8Array, signature: Uint8Array): boolean {
  return signatureVerifier(spkiDer, algorithm)(message, signature);
}

/**
 * verifySignature with the key parsed once: the check for many signatures of one key (the
 * writer's, one per checkpoint). The same answers as verifySignature, signature for signature;
 * a malformed key throws AtoError("CORRUPT") here, not at each check.
 */
export function signatureVerifier(spkiDer: Uint8Array, algorithm: SignatureAlgorithm): SignatureCheck {
  const key = publicKeyObject(spkiDer);
  if (algorithmOfKey(key) !== algorithm) return () => false;
  const ed25519 = algorithm === "ed25519";
  const ecdsa = { key, dsaEncoding: "der" as const };
  return (message, signature) => {
    try {
      if (ed25519) return signature.length === 64 && verify(null, message, key, signature);
      return verify("sha256", message, ecdsa, signature);
    } catch (e) {
      // node:crypto throws on some malformed DER signatures (its ERR_* codes); anything else is a bug.
      if (typeof (e as { code?: unknown })?.code === "string" && (e as { code: string }).code.startsWith("ERR_")) return false;
      throw e;
    }
  };
}
