/**
 * The public keys `ato verify` trusts, from PEM files. A signed-note signature is checked
 * only by the key whose name and key ID both match it (c2sp.org/signed-note); a signature
 * no given key matches is "untrusted", not "tampered".
 */
import { AtoError } from "../errors.ts";
import { keyId, keyIdHex } from "../evidence/index.ts";
import { algorithmOfSpki, spkiFromPem, spkiToPem } from "../signer/pem.ts";
import type { SignatureAlgorithm } from "../signer/types.ts";
import { signatureVerifier, type SignatureCheck } from "../signer/verify.ts";
import { hex, sha256 } from "../tree/index.ts";
import { readSmallFile } from "./files.ts";

export interface TrustedKey {
  path: string;
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
  pem: string;
  /** SHA-256 of the SPKI DER, for the report. */
  fingerprint: string;
}

export function loadKeys(paths: string[]): TrustedKey[] {
  if (paths.length === 0) throw new AtoError("--pubkey FILE is required: the PEM public key of the signing key", "USAGE");
  return paths.map((path) => {
    const pem = readSmallFile(path, "the public key", 1 << 16);
    try {
      const spkiDer = spkiFromPem(pem);
      return { path, algorithm: algorithmOfSpki(spkiDer)!, spkiDer, pem: spkiToPem(spkiDer), fingerprint: hex(sha256(spkiDer)) };
    } catch (e) {
      if (!(e instanceof AtoError)) throw e;
      throw new AtoError(`${path} is not a usable public key: ${e.message}`, "USAGE", { cause: e });
    }
  });
}

/** The key that made a signature with this name and key ID, if one was given. */
export function findKey(keys: TrustedKey[], keyName: string, id: Uint8Array): TrustedKey | undefined {
  const want = keyIdHex(id);
  return keys.find((k) => idOf(k, keyName) === want);
}

/**
 * The key's check, its public key parsed once (verify calls it for every checkpoint: parsing the SPKI each
 * time cost ~12 µs of the ~100 of an Ed25519 check). The same answers as verifySignature.
 */
export function keyCheck(k: TrustedKey): SignatureCheck {
  let c = checks.get(k);
  if (!c) checks.set(k, (c = signatureVerifier(k.spkiDer, k.algorithm)));
  return c;
}

const checks = new WeakMap<TrustedKey, SignatureCheck>();
/** Per key, its key ID under each name a log used (a log names one or two; a hostile one may name one per line: bounded). */
const ids = new WeakMap<TrustedKey, Map<string, string>>();
const MAX_NAMES = 64;

function idOf(k: TrustedKey, keyName: string): string {
  let names = ids.get(k);
  if (!names) ids.set(k, (names = new Map()));
  let id = names.get(keyName);
  if (id === undefined) {
    id = keyIdHex(keyId(keyName, k.algorithm, k.spkiDer));
    if (names.size < MAX_NAMES) names.set(keyName, id);
  }
  return id;
}

export function expectedKeyIds(keys: TrustedKey[], keyName: string): string {
  return keys.map((k) => keyIdHex(keyId(keyName, k.algorithm, k.spkiDer))).join(" or ");
}
