/**
 * openSigner(): a CheckpointSigner over a PKCS#11 key. Ed25519 signs with CKM_EDDSA over the
 * message; ECDSA P-256 signs with CKM_ECDSA over a SHA-256 digest computed here, and the
 * raw r‖s the token returns becomes DER for OpenSSL.
 */
import { createHash } from "node:crypto";
import { AtoError } from "../errors.ts";
import { ecdsaRawToDer } from "./_der.ts";
import { hsmError, isTokenGone } from "./_errors.ts";
import { settingFromEnv } from "../config/index.ts";
import { findKeyPair, type KeyPairRef } from "./keys.ts";
import { SIGN_MECHANISM } from "./keytype.ts";
import { Pkcs11Session } from "./session.ts";
import type { CheckpointSigner, OpenSignerOptions, SignatureAlgorithm } from "./types.ts";
import { verifySignature } from "./verify.ts";

/** Options not given are read through the settings resolver from the environment (src/config: PKCS11_MODULE_PATH, HSM_TOKEN_LABEL, PKCS11_PIN or PKCS11_PIN_FILE, HSM_KEY_LABEL). */
function withDefaults(opts: OpenSignerOptions, env = process.env) {
  const nonEmpty = (v: string | undefined) => (v === "" ? undefined : v);
  return {
    modulePath: nonEmpty(opts.modulePath) ?? settingFromEnv("modulePath", env)!,
    tokenLabel: nonEmpty(opts.tokenLabel) ?? settingFromEnv("tokenLabel", env),
    pin: opts.pin ?? settingFromEnv("pin", env),
    keyLabel: nonEmpty(opts.keyLabel) ?? settingFromEnv("keyLabel", env)!,
  };
}

/**
 * Opens a session, logs in, finds the key pair and signs one test message to prove the
 * private and public keys belong together. Throws AtoError("HSM") naming what is missing.
 */
export function openSigner(opts: OpenSignerOptions = {}): CheckpointSigner {
  const o = withDefaults(opts);
  const session = Pkcs11Session.open({ modulePath: o.modulePath, tokenLabel: o.tokenLabel });
  try {
    session.login(o.pin ?? "");
    const signer = new Pkcs11Signer(session, findKeyPair(session, o.keyLabel, true));
    signer.selfTest();
    return signer;
  } catch (e) {
    session.close();
    throw e;
  }
}

class Pkcs11Signer implements CheckpointSigner {
  readonly algorithm: SignatureAlgorithm;
  readonly keyLabel: string;
  readonly tokenLabel: string;
  private failure: AtoError | undefined;
  private closed = false;
  /** Made once: the mechanism of every C_SignInit, and the buffer C_Sign writes into (copied out of it). */
  private readonly mechanism: { mechanism: number };
  private readonly out: Buffer;

  constructor(
    private readonly session: Pkcs11Session,
    private readonly key: KeyPairRef,
  ) {
    this.algorithm = key.algorithm;
    this.keyLabel = key.label;
    this.tokenLabel = session.token.label;
    this.mechanism = { mechanism: SIGN_MECHANISM[this.algorithm] };
    this.out = Buffer.alloc(this.algorithm === "ecdsa-p256" ? 132 : 64);
  }

  publicKeySpkiDer(): Uint8Array {
    return this.key.spkiDer.slice();
  }

  sign(message: Uint8Array): Uint8Array {
    if (this.failure) throw new AtoError(`${this.failure.message} (signer closed)`, "HSM", { cause: this.failure });
    if (this.closed) throw new AtoError(`sign() on the closed signer of key '${this.keyLabel}'`, "INTERNAL");
    const ecdsa = this.algorithm === "ecdsa-p256";
    const input = ecdsa ? createHash("sha256").update(message).digest() : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    let raw: Buffer;
    try {
      const p = this.session.p;
      p.C_SignInit(this.session.handle, this.mechanism, this.key.privateKey!);
      raw = p.C_Sign(this.session.handle, input, this.out);
    } catch (e) {
      const err = hsmError("signing", e, this.session.context(this.keyLabel));
      if (isTokenGone(e)) {
        this.failure = err;
        this.session.close(); // give the module back, so a new openSigner() re-initialises it
      }
      throw err;
    }
    if (raw.length !== 64) throw new AtoError(`token '${this.tokenLabel}' returned a ${raw.length}-byte ${this.algorithm} signature; expected 64`, "HSM");
    return ecdsa ? ecdsaRawToDer(raw) : Uint8Array.from(raw);
  }

  /** Signs and verifies one message: catches a public key that is not the private key's pair. */
  selfTest(): void {
    const probe = new TextEncoder().encode(`ato signer self-test ${Date.now()}`);
    if (!verifySignature(this.key.spkiDer, this.algorithm, probe, this.sign(probe))) {
      throw new AtoError(`private and public key '${this.keyLabel}' on token '${this.tokenLabel}' are not a pair: a test signature does not verify`, "HSM");
    }
  }

  close(): void {
    this.closed = true;
    this.session.close();
  }
}
