/** Secrets (PIN, token and sealing keys) never appear in redact()'s output or in any error message. */
import { afterAll, describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { redact, resolveConfig, type Env, type Flags } from "../../src/config/index.ts";
import { tempFiles } from "./_files.ts";
import { thrownAtoError } from "../support/errors.ts";

const files = tempFiles();
afterAll(() => files.cleanup());

const PIN = "pin-83af1c0e";
const TOKEN_KEY = "a1".repeat(32);
const SEAL_KEY = Buffer.alloc(32, 7).toString("base64");
const SECRETS = [PIN, TOKEN_KEY, SEAL_KEY, Buffer.from(TOKEN_KEY, "hex").toString("base64")];

function noSecret(text: string) {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

function failure(flags: Flags, env: Env): AtoError {
  return thrownAtoError(() => resolveConfig({ flags, env }));
}

describe("redact", () => {
  test("secrets become (set) or (unset); everything else is shown", () => {
    const c = resolveConfig({ flags: { iface: "eth0" }, env: { PKCS11_PIN: PIN, ATO_TOKEN_KEY: TOKEN_KEY, ATO_SEAL_KEY: SEAL_KEY } });
    const r = redact(c);
    expect(r.pkcs11.pin).toBe("(set)");
    expect(r.masking.tokenKey).toBe("(set)");
    expect(r.masking.sealKey).toBe("(set)");
    expect(r.ifaces).toEqual(["eth0"]);
    const printed = JSON.stringify(r, null, 2);
    noSecret(printed);
    noSecret(Bun.inspect(r));
    // The configuration itself holds the keys as KeyObjects, which do not print their bytes either.
    noSecret(Bun.inspect(c.masking));
  });

  test("unset secrets say so", () => {
    const r = redact(resolveConfig({ flags: {}, env: {} }));
    expect([r.pkcs11.pin, r.masking.tokenKey, r.masking.sealKey]).toEqual(["(unset)", "(unset)", "(unset)"]);
  });

  test("redact leaves the configuration it was given intact", () => {
    const c = resolveConfig({ flags: {}, env: { PKCS11_PIN: PIN } });
    redact(c);
    expect(c.pkcs11.pin).toBe(PIN);
  });
});

describe("errors never quote a secret", () => {
  test("a PIN set twice (value and file) names the variables only", () => {
    const e = failure({}, { PKCS11_PIN: PIN, PKCS11_PIN_FILE: files.write("pin", PIN) });
    expect(e.message).toBe("set PKCS11_PIN or PKCS11_PIN_FILE, not both (from environment)");
    noSecret(e.message);
  });

  test("an unreadable PIN file names the file, not a PIN", () => {
    const e = failure({}, { PKCS11_PIN_FILE: "/nonexistent/pin" });
    expect(e.message).toContain("/nonexistent/pin");
    expect(e.code).toBe("CONFIG");
  });

  test("a malformed key names the variable and its length, never its text", () => {
    const bad = `${TOKEN_KEY.slice(0, 60)}zz`;
    const e = failure({}, { ATO_TOKEN_KEY: bad });
    expect(e.message).toStartWith("ATO_TOKEN_KEY: expected a 32-byte key");
    expect(e.message).toEndWith("(from environment)");
    expect(e.message).not.toContain(bad);
    expect(e.message).not.toContain(bad.slice(0, 16));
  });

  test("a malformed key in the config file is reported as from the file", () => {
    const file = files.write("k.env", `PKCS11_PIN=${PIN}\nATO_SEAL_KEY=short\n`);
    const e = failure({ config: file }, {});
    expect(e.message).toContain(`(from file ${file})`);
    expect(e.message).not.toContain("short");
    noSecret(e.message);
  });

  test("another setting's error in a file that also holds the PIN does not leak it", () => {
    const file = files.write("p.env", `PKCS11_PIN=${PIN}\nXDP_MODE=fast\n`);
    const e = failure({ config: file }, {});
    expect(e.message).toContain("XDP_MODE must be one of");
    noSecret(e.message);
    noSecret(String(e.cause ?? ""));
  });

  test("a JSON syntax error does not quote the file", () => {
    const file = files.write("broken.json", `{"PKCS11_PIN": ${PIN}}`);
    const e = failure({ config: file }, {});
    expect(e.message).toBe(`config file ${file}: not valid JSON`);
    expect(e.cause).toBeUndefined();
  });

  test("an empty PIN counts as unset, not as an error that could show it", () => {
    const file = files.write("q.json", JSON.stringify({ PKCS11_PIN: "" , XDP_MODE: "drv" }));
    expect(resolveConfig({ flags: { config: file }, env: {} }).pkcs11.pin).toBeUndefined();
  });
});
