/**
 * The writer's side of the HSM: signs checkpoint texts, checks each signature against the
 * token's public key before trusting it, and turns every PKCS#11 failure (an AtoError "HSM")
 * into a reason that goes into the checkpoint line (signature_status "failed") instead of
 * stopping the log; any other error is a bug in ato and is thrown. After a failure the signer
 * is reopened at the next checkpoint, if the writer was given a way to. Each failed PKCS#11
 * operation is counted (ato_hsm_errors_total). Reasons are AtoError messages, which by
 * contract carry no PIN or key material.
 */
import { AtoError } from "../errors.ts";
import { keyId, keyIdHex } from "../evidence/index.ts";
import { signatureVerifier, type CheckpointSigner, type SignatureAlgorithm, type SignatureCheck } from "../signer/index.ts";

export interface SignerIdentity {
  algorithm: SignatureAlgorithm;
  keyName: string;
  keyId: Uint8Array;
  keyIdHex: string;
  spkiDer: Uint8Array;
}

export type SignOutcome =
  | { ok: true; signature: Uint8Array; identity: SignerIdentity; seconds: number }
  | { ok: false; reason: string; identity: SignerIdentity | undefined; seconds: number | undefined };

export class CheckpointSigning {
  private signer: CheckpointSigner | null;
  private identity: SignerIdentity | undefined;
  /** The check of the current key's signatures, its public key parsed once (made at the first signature). */
  private check: SignatureCheck | undefined;
  private broken: string | undefined;
  /** The current signer's last signature did not verify with its public key (it is not lent then). */
  private mismatched = false;

  constructor(
    signer: CheckpointSigner | null | undefined,
    private readonly keyName: string,
    private readonly reopen: (() => CheckpointSigner) | undefined,
    /** Told about every failed PKCS#11 operation. */
    private readonly onHsmError: () => void = () => {},
  ) {
    this.signer = null;
    this.use(signer ?? null);
  }

  /** Replaces the signer (for example after the operator fixed the token). */
  use(signer: CheckpointSigner | null): void {
    this.signer = signer;
    this.broken = undefined;
    this.check = undefined;
    this.mismatched = false;
    if (!signer) return;
    try {
      const spkiDer = signer.publicKeySpkiDer();
      const id = keyId(this.keyName, signer.algorithm, spkiDer);
      this.identity = { algorithm: signer.algorithm, keyName: this.keyName, keyId: id, keyIdHex: keyIdHex(id), spkiDer };
    } catch (e) {
      this.broken = this.failure(e);
    }
  }

  get state(): "ok" | "failed" | "none" {
    if (!this.signer && !this.reopen) return "none";
    return this.signer && !this.broken ? "ok" : "failed";
  }

  /** The identity of the current (or last working) key, for checkpoint lines and exports. */
  get key(): SignerIdentity | undefined {
    return this.identity;
  }

  /**
   * The signer while it works: opened, no PKCS#11 failure since, and its last signature (if any) verified
   * with its public key. Lent, not given (see EvidenceLog.lentSigner): this class still owns and closes it.
   */
  get working(): CheckpointSigner | undefined {
    return this.signer && !this.broken && !this.mismatched ? this.signer : undefined;
  }

  sign(text: Uint8Array): SignOutcome {
    if (!this.signer || this.broken) this.tryReopen();
    if (!this.signer) return { ok: false, reason: this.broken ?? "no signer is configured", identity: this.identity, seconds: undefined };
    if (this.broken) return { ok: false, reason: this.broken, identity: this.identity, seconds: undefined };
    const t0 = performance.now();
    try {
      const signature = this.signer.sign(text);
      const seconds = (performance.now() - t0) / 1000;
      const id = this.identity!;
      this.check ??= signatureVerifier(id.spkiDer, id.algorithm);
      this.mismatched = !this.check(text, signature);
      if (this.mismatched) {
        return { ok: false, reason: `the token's signature does not verify with its public key '${this.signer.keyLabel}'`, identity: id, seconds };
      }
      return { ok: true, signature, identity: id, seconds };
    } catch (e) {
      this.broken = this.failure(e);
      return { ok: false, reason: this.broken, identity: this.identity, seconds: (performance.now() - t0) / 1000 };
    }
  }

  close(): void {
    try {
      this.signer?.close();
    } catch (e) {
      this.failure(e); // closing a signer whose token is gone has nothing left to release; it is counted
    }
    this.signer = null;
  }

  private tryReopen(): void {
    if (!this.reopen) return;
    this.close();
    try {
      this.use(this.reopen());
    } catch (e) {
      this.broken = this.failure(e);
    }
  }

  /** A PKCS#11 failure, counted, as the reason a checkpoint carries; anything else is rethrown. */
  private failure(e: unknown): string {
    if (!(e instanceof AtoError && e.code === "HSM")) throw e;
    this.onHsmError();
    return reason(e);
  }
}

function reason(e: AtoError): string {
  return e.message.replace(/\s+/g, " ").slice(0, 300);
}
