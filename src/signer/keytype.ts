/**
 * Which signature algorithm a PKCS#11 key is for, and its public key as SubjectPublicKeyInfo.
 * Pure: works on attribute values (CKA_KEY_TYPE, CKA_EC_PARAMS, CKA_EC_POINT), not on a token.
 */
import { AtoError } from "../errors.ts";
import { ed25519Spki, equalBytes, OID, p256Spki, TAG, tlv, unwrapOctetString } from "./_der.ts";
import { publicKeyObject } from "./pem.ts";
import type { SignatureAlgorithm } from "./types.ts";

/** PKCS#11 3.0 values; pkcs11js (2.40) does not name the Edwards ones. */
export const CKK = { RSA: 0x0, DSA: 0x1, EC: 0x3, EC_EDWARDS: 0x40, EC_MONTGOMERY: 0x41 } as const;
export const CKM = {
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  EDDSA: 0x1057,
} as const;

/** The CKA_EC_PARAMS ato writes when it generates a key. */
export const EC_PARAMS: Record<SignatureAlgorithm, Uint8Array> = { ed25519: OID.ed25519, "ecdsa-p256": OID.prime256v1 };

/** The sign mechanism for each algorithm; ECDSA signs a SHA-256 digest computed by ato. */
export const SIGN_MECHANISM: Record<SignatureAlgorithm, number> = { ed25519: CKM.EDDSA, "ecdsa-p256": CKM.ECDSA };

/** Curve names PKCS#11 3.0 allows in place of an OID (a DER PrintableString). */
const printable = (name: string) => tlv(TAG.PRINTABLE_STRING, new TextEncoder().encode(name));
const ED25519_PARAMS = [OID.ed25519, OID.ed25519Gnu, printable("edwards25519")];
const P256_PARAMS = [OID.prime256v1, printable("prime256v1"), printable("secp256r1")];

const isOneOf = (params: Uint8Array | undefined, list: Uint8Array[]) => params !== undefined && list.some((p) => equalBytes(p, params));

/**
 * The algorithm of a key from its CKA_KEY_TYPE and CKA_EC_PARAMS, or a short description of
 * the unsupported key ("RSA", "EC with parameters 06052b81040022") as `unsupported`.
 */
export function detectAlgorithm(keyType: number, ecParams: Uint8Array | undefined): { algorithm: SignatureAlgorithm } | { unsupported: string } {
  const paramsHex = ecParams ? Buffer.from(ecParams).toString("hex") : "none";
  if (keyType === CKK.EC_EDWARDS) {
    // Some modules leave CKA_EC_PARAMS unreadable on Edwards keys; Ed25519 is then the only choice we can make.
    if (ecParams === undefined || isOneOf(ecParams, ED25519_PARAMS)) return { algorithm: "ed25519" };
    return { unsupported: `EdDSA on a curve other than Ed25519 (CKA_EC_PARAMS ${paramsHex})` };
  }
  if (keyType === CKK.EC) {
    if (isOneOf(ecParams, P256_PARAMS)) return { algorithm: "ecdsa-p256" };
    return { unsupported: `EC on a curve other than P-256 (CKA_EC_PARAMS ${paramsHex})` };
  }
  const names: Record<number, string> = { [CKK.RSA]: "RSA", [CKK.DSA]: "DSA", [CKK.EC_MONTGOMERY]: "X25519/X448 (key agreement only)" };
  return { unsupported: names[keyType] ?? `key type 0x${keyType.toString(16)}` };
}

/**
 * CKA_EC_POINT as SubjectPublicKeyInfo. PKCS#11 says the point is a DER OCTET STRING;
 * some modules return the bare point (32 bytes for Ed25519, 04‖X‖Y or 02/03‖X for P-256).
 * Throws AtoError("HSM") if the value is neither, or not a point on the curve.
 */
export function ecPointToSpki(algorithm: SignatureAlgorithm, ecPoint: Uint8Array): Uint8Array {
  const fits = (b: Uint8Array) => (algorithm === "ed25519" ? b.length === 32 : b.length === 65 || b.length === 33);
  const inner = unwrapOctetString(ecPoint);
  const point = inner && fits(inner) ? inner : fits(ecPoint) ? ecPoint : undefined;
  if (!point) {
    throw new AtoError(`the token's CKA_EC_POINT (${ecPoint.length} bytes) is not an ${algorithm} public key`, "HSM");
  }
  const der = algorithm === "ed25519" ? ed25519Spki(point) : p256Spki(point);
  try {
    publicKeyObject(der); // OpenSSL checks the point is on the curve
  } catch (e) {
    throw new AtoError(`the token's CKA_EC_POINT is not a valid ${algorithm} public key`, "HSM", { cause: e });
  }
  return der;
}
