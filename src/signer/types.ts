/** The signer's public contract, shared by the checkpoint writer, `ato hsm` and `ato verify`. */

import type { SignatureAlgorithm } from "../evidence/keyid.ts";

export { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from "../evidence/keyid.ts";

/** A key on a PKCS#11 token that signs checkpoints. One session, logged in, until close(). */
export interface CheckpointSigner {
  readonly algorithm: SignatureAlgorithm;
  readonly keyLabel: string;
  /** The label of the token that holds the key (useful when it was found as "the first token"). */
  readonly tokenLabel: string;
  /** DER SubjectPublicKeyInfo. */
  publicKeySpkiDer(): Uint8Array;
  /**
   * ed25519: the 64-byte signature (CKM_EDDSA over the message);
   * ecdsa-p256: a DER ECDSA-Sig-Value over SHA-256(message) (CKM_ECDSA over the digest).
   * Throws AtoError("HSM") when the token, session or key is gone; the signer is then
   * closed, and a new openSigner() recovers once the token is back.
   */
  sign(message: Uint8Array): Uint8Array;
  /** Closes the session and, with the last user of the module, finalizes it. Idempotent. */
  close(): void;
}

/** What is not given comes from the environment through the settings resolver, with the table's defaults (src/config/table.ts). */
export interface OpenSignerOptions {
  /** PKCS#11 module (PKCS11_MODULE_PATH). */
  modulePath?: string;
  /** Token label (HSM_TOKEN_LABEL); none: "ato-token", else the first initialised token. */
  tokenLabel?: string;
  /** User PIN (PKCS11_PIN or PKCS11_PIN_FILE). Never shown anywhere. */
  pin?: string;
  /** Key label of the private and public key (HSM_KEY_LABEL). */
  keyLabel?: string;
}
