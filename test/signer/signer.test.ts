/** Signing on a real SoftHSM token, checked by OpenSSL: both key types, keys made by pkcs11-tool and by ato. */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { openSigner, spkiToPem, verifySignature, type CheckpointSigner } from "../../src/signer/index.ts";
import { Pkcs11Module } from "../../src/signer/module.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";
import { flipByte, opensslVerify } from "./_openssl.ts";

let token: TestToken | undefined;
let signer: CheckpointSigner | undefined;
afterEach(() => {
  signer?.close();
  signer = undefined;
  token?.cleanup();
  token = undefined;
});

const message = new TextEncoder().encode("example.org/ato\n42\nq4MpCyTxk9Yb3HSZ0Yw+fpHb1a5Qmo8rnTXZpMKPqMs=\n");

for (const generator of ["pkcs11-tool", "ato"] as const) {
  describe(`[hsm] a key made by ${generator}`, () => {
    test("Ed25519: a 64-byte signature that OpenSSL verifies, and rejects with one bit flipped", async () => {
      token = await createToken({ keyType: "ed25519", generator });
      signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
      expect(signer.algorithm).toBe("ed25519");
      expect(signer.keyLabel).toBe(token.keyLabel);
      expect(signer.tokenLabel).toBe(token.tokenLabel);
      const sig = signer.sign(message);
      expect(sig.length).toBe(64);
      const pem = join(token.dir, "pub.pem");
      writeFileSync(pem, spkiToPem(signer.publicKeySpkiDer()));
      expect(opensslVerify("ed25519", pem, message, sig, token.dir)).toMatchObject({ ok: true });
      expect(opensslVerify("ed25519", pem, message, flipByte(sig), token.dir).ok).toBe(false);
      expect(opensslVerify("ed25519", pem, flipByte(message), sig, token.dir).ok).toBe(false);
      expect(verifySignature(signer.publicKeySpkiDer(), "ed25519", message, sig)).toBe(true);
      expect(verifySignature(signer.publicKeySpkiDer(), "ed25519", message, flipByte(sig))).toBe(false);
    });

    test("ECDSA P-256: a DER signature over SHA-256 that `openssl dgst -sha256 -verify` accepts", async () => {
      token = await createToken({ keyType: "ecdsa-p256", generator });
      signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
      expect(signer.algorithm).toBe("ecdsa-p256");
      const pem = join(token.dir, "pub.pem");
      writeFileSync(pem, spkiToPem(signer.publicKeySpkiDer()));
      for (let i = 0; i < 20; i++) {
        // 20 signatures: r and s with and without their top bit set, so DER's leading zero is exercised
        const msg = new TextEncoder().encode(`checkpoint ${i}`);
        const sig = signer.sign(msg);
        expect(sig[0]).toBe(0x30);
        expect(verifySignature(signer.publicKeySpkiDer(), "ecdsa-p256", msg, sig)).toBe(true);
        if (i < 3) {
          expect(opensslVerify("ecdsa-p256", pem, msg, sig, token.dir)).toMatchObject({ ok: true });
          expect(opensslVerify("ecdsa-p256", pem, msg, flipByte(sig, sig.length - 2), token.dir).ok).toBe(false);
        }
      }
    });
  });
}

describe("[hsm] signer lifecycle", () => {
  test("the environment supplies module, token, PIN and key label", async () => {
    token = await createToken({ keyType: "ed25519" });
    const saved = Object.fromEntries(Object.keys(token.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, token.env);
    try {
      signer = openSigner({});
      expect(signer.tokenLabel).toBe(token.tokenLabel);
      expect(signer.keyLabel).toBe(token.keyLabel);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test("without a token label, the first initialised token is used", async () => {
    token = await createToken({ keyType: "ed25519" });
    signer = openSigner({ modulePath: token.modulePath, pin: token.pin, keyLabel: token.keyLabel, tokenLabel: undefined });
    expect(signer.tokenLabel).toBe(token.tokenLabel);
  });

  test("close() is idempotent and finalizes the module once no signer uses it", async () => {
    token = await createToken({ keyType: "ed25519" });
    const opts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
    const a = openSigner(opts);
    const b = openSigner(opts); // a second signer shares the module and the login
    a.close();
    a.close();
    expect(b.sign(message).length).toBe(64); // b still works after a closed
    expect(Pkcs11Module.loadedPaths()).toEqual([token.modulePath]);
    b.close();
    expect(Pkcs11Module.loadedPaths()).toEqual([]);
    expect(() => b.sign(message)).toThrow(expect.objectContaining({ code: "INTERNAL" })); // a bug in the caller, not an HSM failure
  });

  test("the exported public key is a copy: callers cannot change the signer's key", async () => {
    token = await createToken({ keyType: "ed25519" });
    signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
    signer.publicKeySpkiDer().fill(0);
    expect(verifySignature(signer.publicKeySpkiDer(), "ed25519", message, signer.sign(message))).toBe(true);
  });
});
