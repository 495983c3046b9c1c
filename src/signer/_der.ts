/**
 * The few DER shapes the signer needs (X.690): definite lengths, OCTET STRING, INTEGER,
 * SEQUENCE, and the SubjectPublicKeyInfo of RFC 5280 §4.1.2.7 for Ed25519 (RFC 8410 §4)
 * and P-256 (RFC 5480 §2). Pure functions: no PKCS#11, no I/O.
 */
export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, PRINTABLE_STRING: 0x13, SEQUENCE: 0x30 } as const;

/** DER of the object identifiers ato meets in CKA_EC_PARAMS and SPKI (tag and length included). */
export const OID = {
  ed25519: hex("06032b6570"), // 1.3.101.112, RFC 8410
  ed448: hex("06032b6571"), // 1.3.101.113
  ed25519Gnu: hex("06092b06010401da470f01"), // 1.3.6.1.4.1.11591.15.1, older GnuPG/OpenSC name of the curve
  idEcPublicKey: hex("06072a8648ce3d0201"), // 1.2.840.10045.2.1, RFC 5480
  prime256v1: hex("06082a8648ce3d030107"), // 1.2.840.10045.3.1.7 (secp256r1), RFC 5480
} as const;

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Uint8Array.from(Buffer.concat([Uint8Array.of(tag), encodeLength(body.length), body]));
}

/** Reads one TLV at the start of `der`; returns undefined unless it is well formed and fits. */
function readTlv(der: Uint8Array): { tag: number; value: Uint8Array; rest: Uint8Array } | undefined {
  if (der.length < 2) return undefined;
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
    off = 2 + n;
  }
  if (off + len > der.length) return undefined;
  return { tag: der[0]!, value: der.subarray(off, off + len), rest: der.subarray(off + len) };
}

/** The content of a DER OCTET STRING that spans all of `der`, or undefined if `der` is not one. */
export function unwrapOctetString(der: Uint8Array): Uint8Array | undefined {
  const t = readTlv(der);
  return t && t.tag === TAG.OCTET_STRING && t.rest.length === 0 ? t.value : undefined;
}

/** A non-negative big-endian integer as a minimal DER INTEGER. */
function derUnsignedInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(TAG.INTEGER, v[0]! & 0x80 ? Uint8Array.of(0, ...v) : v);
}

/** PKCS#11 CKM_ECDSA output (r‖s, each half the length) as an ECDSA-Sig-Value (RFC 5480 §2.2, SEC 1). */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error(`ECDSA signature of odd length ${raw.length}`);
  const half = raw.length / 2;
  return tlv(TAG.SEQUENCE, derUnsignedInteger(raw.subarray(0, half)), derUnsignedInteger(raw.subarray(half)));
}

/** SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING (no unused bits) }. */
export function spki(algorithmIdentifier: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return tlv(TAG.SEQUENCE, algorithmIdentifier, tlv(TAG.BIT_STRING, Uint8Array.of(0), publicKey));
}

export function ed25519Spki(key: Uint8Array): Uint8Array {
  return spki(tlv(TAG.SEQUENCE, OID.ed25519), key);
}

export function p256Spki(point: Uint8Array): Uint8Array {
  return spki(tlv(TAG.SEQUENCE, OID.idEcPublicKey, OID.prime256v1), point);
}
