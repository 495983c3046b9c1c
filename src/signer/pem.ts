/** SubjectPublicKeyInfo in PEM and back, and which signature algorithm a key is for. No PKCS#11 here. */
import { createPublicKey, type KeyObject } from "node:crypto";
import { AtoError } from "../errors.ts";
import type { SignatureAlgorithm } from "./types.ts";

export function spkiToPem(spkiDer: Uint8Array): string {
  const b64 = Buffer.from(spkiDer).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

/** The DER inside a "PUBLIC KEY" PEM block, checked to be a public key ato can use. */
export function spkiFromPem(pem: string): Uint8Array {
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  if (!m) throw new AtoError("expected a PEM 'PUBLIC KEY' block (SubjectPublicKeyInfo); found none", "CORRUPT");
  const der = Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  if (!algorithmOfSpki(der)) throw new AtoError("the PEM public key is not an Ed25519 or P-256 key", "UNTRUSTED");
  return der;
}

/** Parses DER SubjectPublicKeyInfo; throws AtoError("CORRUPT") if it is not one. */
export function publicKeyObject(spkiDer: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" });
  } catch (e) {
    throw new AtoError("the public key is not a valid DER SubjectPublicKeyInfo", "CORRUPT", { cause: e });
  }
}

export function algorithmOfKey(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ecdsa-p256";
  return undefined;
}

/** The algorithm a DER SPKI key signs with, or undefined for any other key (RSA, P-384, …). */
export function algorithmOfSpki(spkiDer: Uint8Array): SignatureAlgorithm | undefined {
  return algorithmOfKey(publicKeyObject(spkiDer));
}
