/** The signer's public contract, shared by the checkpoint writer, `ato hsm` and `ato verify`. */

export type SignatureAlgorithm = "ed25519" | "ecdsa-p256";

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ["ed25519", "ecdsa-p256"];

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

export interface OpenSignerOptions {
  /** PKCS#11 module; default $PKCS11_MODULE_PATH, then /usr/lib/softhsm/libsofthsm2.so. */
  modulePath?: string;
  /** Token label; default $HSM_TOKEN_LABEL, then "ato-token" or else the first initialised token. */
  tokenLabel?: string;
  /** User PIN; default $PKCS11_PIN. Never shown anywhere. */
  pin?: string;
  /** Key label (private and public key); default $HSM_KEY_LABEL, then "ato-ed25519". */
  keyLabel?: string;
}
