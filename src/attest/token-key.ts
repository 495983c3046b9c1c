/**
 * The public key of the token's signing key, as a PEM file for `ato attest verify` when no --pubkey is given:
 * the key that signs bundles and checkpoints on this host. Only the public object is read; no PIN is needed.
 * Off the host, pass --pubkey (the PEM `ato hsm pubkey` exported).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findKeyPair } from "../signer/keys.ts";
import { spkiToPem } from "../signer/pem.ts";
import { Pkcs11Session } from "../signer/session.ts";
import type { SignatureAlgorithm } from "../signer/index.ts";
import { settingFromEnv } from "../config/index.ts";

export function tokenPublicKey(o: { modulePath: string; tokenLabel?: string; keyLabel: string; pin?: string }): { path: string; cleanup: () => void } {
  const session = Pkcs11Session.open({ modulePath: o.modulePath, tokenLabel: o.tokenLabel, pin: o.pin });
  try {
    const key = findKeyPair(session, o.keyLabel, false);
    const dir = mkdtempSync(join(tmpdir(), "ato-attest-key-"));
    const path = join(dir, `${key.label}.pem`);
    writeFileSync(path, spkiToPem(key.spkiDer));
    return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    session.close();
  }
}

/** The token's signing key as bytes (algorithm and SPKI), to check what ato itself signed (the hash cache). No PIN. */
export function tokenVerifyKey(o: { modulePath?: string; tokenLabel?: string; keyLabel?: string }): { algorithm: SignatureAlgorithm; spkiDer: Uint8Array } {
  const session = Pkcs11Session.open({ modulePath: o.modulePath || settingFromEnv("modulePath")!, tokenLabel: o.tokenLabel || settingFromEnv("tokenLabel") });
  try {
    const key = findKeyPair(session, o.keyLabel || settingFromEnv("keyLabel")!, false);
    return { algorithm: key.algorithm, spkiDer: key.spkiDer };
  } finally {
    session.close();
  }
}
