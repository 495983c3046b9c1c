/**
 * When signing fails (DESIGN "When signing fails"): a token that disappears under a live
 * signer makes sign() throw AtoError("HSM"), so the caller can mark the checkpoint
 * signature_status=failed; once the token is back, a fresh openSigner() signs again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { openSigner, verifySignature, type CheckpointSigner } from "../../src/signer/index.ts";
import { Pkcs11Module } from "../../src/signer/module.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";
import { thrownAtoError } from "../support/errors.ts";

let token: TestToken | undefined;
let signer: CheckpointSigner | undefined;
afterEach(() => {
  signer?.close();
  token?.cleanup();
  signer = token = undefined;
});

const msg = new TextEncoder().encode("tree head 7");

for (const keyType of ["ed25519", "ecdsa-p256"] as const) {
  describe(`[hsm] ${keyType} signer when the token goes away`, () => {
    test("sign() fails with AtoError(HSM) after the token is deleted, and a new signer works once it is restored", async () => {
      token = await createToken({ keyType });
      const opts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
      signer = openSigner(opts);
      const spki = signer.publicKeySpkiDer();
      expect(verifySignature(spki, keyType, msg, signer.sign(msg))).toBe(true);

      const tokens = join(token.dir, "tokens");
      const backup = join(token.dir, "tokens.backup");
      cpSync(tokens, backup, { recursive: true });
      const del = Bun.spawnSync(["softhsm2-util", "--delete-token", "--token", token.tokenLabel], { env: { ...process.env, ...token.env }, stdout: "pipe", stderr: "pipe" });
      expect(del.exitCode).toBe(0);

      const err = thrownAtoError(() => signer!.sign(msg));
      expect(err.code).toBe("HSM");
      expect(err.message).toContain(`token '${token.tokenLabel}'`);
      expect(err.message).toContain("gone");
      expect(err.message).not.toContain(token.pin);
      // Still failing, still clear, and the module has been given back for re-initialisation.
      expect(thrownAtoError(() => signer!.sign(msg)).code).toBe("HSM");
      expect(Pkcs11Module.loadedPaths()).toEqual([]);
      signer.close();

      // While the token is missing, opening fails and says which token is missing.
      expect(thrownAtoError(() => openSigner(opts)).message).toContain(`no token labelled '${token.tokenLabel}'`);

      rmSync(tokens, { recursive: true, force: true });
      cpSync(backup, tokens, { recursive: true });
      signer = openSigner(opts);
      expect(signer.publicKeySpkiDer()).toEqual(spki);
      expect(verifySignature(spki, keyType, msg, signer.sign(msg))).toBe(true);
    });
  });
}
