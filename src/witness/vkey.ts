/**
 * Verifier keys in the signed-note text form (the "vkey" of golang.org/x/mod/sumdb/note and
 * c2sp.org/signed-note): `<name>+<8 hex digits of the key ID>+<base64(type byte || public key)>`.
 * ato's witnesses publish type 0x04 (timestamped Ed25519 cosignatures, c2sp.org/tlog-cosignature);
 * type 0x01 (plain Ed25519 note signatures) is read too, for logs and for the published examples.
 */
import { AtoError } from "../errors.ts";
import { sha256 } from "../tree/index.ts";

export const TYPE_ED25519 = 0x01;
export const TYPE_COSIGNATURE_V1 = 0x04;

export interface VerifierKey {
  name: string;
  type: typeof TYPE_ED25519 | typeof TYPE_COSIGNATURE_V1;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** SHA-256(name || 0x0A || type || public key)[:4]. */
  keyId: Uint8Array;
}

export function noteKeyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  return sha256(Buffer.concat([Buffer.from(`${name}\n`, "utf8"), Uint8Array.of(type), publicKey])).subarray(0, 4);
}

export function formatVerifierKey(name: string, type: VerifierKey["type"], publicKey: Uint8Array): string {
  checkKeyName(name);
  const id = Buffer.from(noteKeyId(name, type, publicKey)).toString("hex");
  return `${name}+${id}+${Buffer.concat([Uint8Array.of(type), publicKey]).toString("base64")}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  const s = text.trim();
  // The name cannot hold '+'; base64 can, so the name is before the first '+' and the ID after it.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(s);
  if (!m) throw bad(s, "it is not '<name>+<8 hex digits>+<base64>'");
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  const raw = Uint8Array.from(Buffer.from(b64, "base64"));
  if (Buffer.from(raw).toString("base64") !== b64) throw bad(s, "its key is not canonical base64");
  const type = raw[0];
  if (type !== TYPE_ED25519 && type !== TYPE_COSIGNATURE_V1) throw bad(s, `its signature type 0x${(type ?? 0).toString(16).padStart(2, "0")} is not Ed25519 (0x01) or a cosignature/v1 (0x04)`);
  const publicKey = raw.subarray(1);
  if (publicKey.length !== 32) throw bad(s, `its Ed25519 key is ${publicKey.length} bytes, not 32`);
  const keyId = noteKeyId(name, type, publicKey);
  if (Buffer.from(keyId).toString("hex") !== idHex) throw bad(s, `its key ID ${idHex} is not the one its name and key give (${Buffer.from(keyId).toString("hex")})`);
  return { name, type, publicKey, keyId };
}

export function checkKeyName(name: string): void {
  if (!/^[^\s+]+$/u.test(name) || /[\u0000-\u001f]/.test(name)) throw new AtoError(`key name '${name.slice(0, 80)}' must be non-empty, without spaces or '+'`, "USAGE");
}

function bad(s: string, why: string): AtoError {
  return new AtoError(`verifier key '${s.slice(0, 120)}' is not usable: ${why}`, "USAGE");
}
