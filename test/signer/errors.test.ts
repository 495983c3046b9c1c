/** What a user is told when the module, token, PIN or key is wrong: clear, specific, and never the PIN. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { openSigner } from "../../src/signer/index.ts";
import { Pkcs11Module } from "../../src/signer/module.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";

let token: TestToken;
beforeAll(async () => {
  token = await createToken({ keyType: "ed25519" });
});
afterAll(() => token.cleanup());

/** The AtoError openSigner throws, with everything it would show (message, cause) flattened to text. */
function failure(opts: Parameters<typeof openSigner>[0]): { error: AtoError; text: string } {
  try {
    openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel, ...opts }).close();
  } catch (e) {
    expect(e).toBeInstanceOf(AtoError);
    const error = e as AtoError;
    const cause = error.cause as Error | undefined;
    const text = [error.message, error.stack, error.details, String(cause), cause?.stack, JSON.stringify(cause), JSON.stringify(error)].join("\n");
    return { error, text };
  }
  throw new Error("openSigner succeeded");
}

describe("[hsm] openSigner failures", () => {
  test("wrong PIN: HSM error naming the token, without the PIN it was given", () => {
    const wrong = "731904-not-the-pin";
    const { error, text } = failure({ pin: wrong });
    expect(error.code).toBe("HSM");
    expect(error.message).toBe(`wrong PIN for token '${token.tokenLabel}'`);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(token.pin);
  });

  test("no PIN at all: says to set PKCS11_PIN", () => {
    const saved = process.env.PKCS11_PIN;
    delete process.env.PKCS11_PIN;
    try {
      const { error } = failure({ pin: undefined });
      expect(error.code).toBe("HSM");
      expect(error.message).toContain("PKCS11_PIN");
    } finally {
      if (saved !== undefined) process.env.PKCS11_PIN = saved;
    }
  });

  test("missing module: names the path", () => {
    const { error } = failure({ modulePath: "/nonexistent/libpkcs11-missing.so" });
    expect(error.code).toBe("HSM");
    expect(error.message).toContain("'/nonexistent/libpkcs11-missing.so'");
    expect(error.message).toContain("not found");
  });

  test("a file that is not a PKCS#11 module: names the path", () => {
    const { error } = failure({ modulePath: "/etc/hostname" });
    expect(error.code).toBe("HSM");
    expect(error.message).toContain("'/etc/hostname'");
  });

  test("no such token: names the label and the tokens that exist", () => {
    const { error } = failure({ tokenLabel: "no-such-token" });
    expect(error.code).toBe("HSM");
    expect(error.message).toContain("'no-such-token'");
    expect(error.message).toContain(`'${token.tokenLabel}'`);
  });

  test("no such key: names the label and the keys that exist", () => {
    const { error, text } = failure({ keyLabel: "no-such-key" });
    expect(error.code).toBe("HSM");
    expect(error.message).toContain("no private key labelled 'no-such-key'");
    expect(error.message).toContain(`'${token.keyLabel}'`);
    expect(text).not.toContain(token.pin);
  });

  test("a failed open leaves no module loaded behind", () => {
    failure({ pin: "0000" });
    failure({ keyLabel: "no-such-key" });
    expect(Pkcs11Module.loadedPaths()).toEqual([]);
  });
});
