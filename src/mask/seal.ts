/**
 * AES-256-GCM sealing of a record's unmasked fields, so that a holder of the seal key can reveal them during an
 * investigation. The record's identity is the associated data: a sealed value moved to another record fails to
 * open, as does one whose ciphertext was changed.
 *
 *   v1.<key id>.<nonce>.<ciphertext || tag>
 *
 * key id: 8 hex digits, HMAC-SHA256(key, "ato seal key id v1")[0..4), to tell "wrong key" from "tampered"
 *         and to pick the right key after a rotation; it reveals nothing about the key;
 * nonce:  12 random bytes (96 bits), base64url; tag: 16 bytes; both base64url without padding.
 * A random nonce per seal keeps the collision risk negligible below 2^32 seals per key (NIST SP 800-38D 8.3).
 */
import { createCipheriv, createDecipheriv, createHmac, type KeyObject, randomBytes } from "node:crypto";
import { AtoError } from "../errors.ts";

export const SEAL_VERSION = "v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_LABEL = "ato seal key id v1";

export class Sealer {
  /** Identifies the key in sealed values (not secret). */
  readonly keyId: string;
  readonly #key: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
    this.keyId = createHmac("sha256", key).update(KEY_ID_LABEL).digest("hex").slice(0, 8);
  }

  /** Encrypts `plaintext` bound to `identity` (the record's identity, as the caller will give it to unseal). */
  seal(plaintext: string, identity: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(identity, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return [SEAL_VERSION, this.keyId, nonce.toString("base64url"), body.toString("base64url")].join(".");
  }

  /**
   * The plaintext of `sealed`. Throws AtoError: CORRUPT when it is not a sealed value, UNTRUSTED when another key
   * sealed it, TAMPERED when the ciphertext or the identity differs from what was sealed.
   */
  unseal(sealed: string, identity: string): string {
    const { keyId, nonce, body } = parseSealed(sealed);
    if (keyId !== this.keyId) {
      throw new AtoError(`sealed value: sealed under key id ${keyId}, but the loaded seal key has id ${this.keyId}`, "UNTRUSTED");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(identity, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch (cause) {
      throw new AtoError(
        `sealed value: expected it to authenticate for record "${identity}" under key id ${keyId}, found a mismatch: ` +
          `the ciphertext was changed or it belongs to another record`,
        "TAMPERED",
        { cause },
      );
    }
  }
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function parseSealed(sealed: string): { keyId: string; nonce: Buffer; body: Buffer } {
  const parts = sealed.split(".");
  const [version, keyId, nonceText, bodyText] = parts;
  const nonce = Buffer.from(nonceText ?? "", "base64url");
  const body = Buffer.from(bodyText ?? "", "base64url");
  if (
    parts.length !== 4 ||
    version !== SEAL_VERSION ||
    !/^[0-9a-f]{8}$/.test(keyId) ||
    !B64URL.test(nonceText) ||
    !B64URL.test(bodyText) ||
    nonce.length !== NONCE_BYTES ||
    body.length < TAG_BYTES
  ) {
    throw new AtoError(
      `sealed value: expected ${SEAL_VERSION}.<8 hex key id>.<12-byte nonce>.<ciphertext and 16-byte tag>, ` +
        `found ${parts.length} dot-separated parts starting "${(version ?? "").slice(0, 8)}"`,
      "CORRUPT",
    );
  }
  return { keyId, nonce, body };
}
