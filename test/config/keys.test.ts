/** Token and sealing keys read through the resolver: NAME or NAME_FILE, decoded, never shown. (Moved from test/mask/keys.) */
import { afterAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { join } from "node:path";
import { readSettings, resolveConfig, type Env } from "../../src/config/index.ts";
import { thrownAtoError } from "../support/errors.ts";
import { tempFiles } from "./_files.ts";

const files = tempFiles();
afterAll(() => files.cleanup());

const KEY = randomBytes(32);
const HEX = KEY.toString("hex");
const B64 = KEY.toString("base64");

/** Keys are compared by what they compute, since a KeyObject does not show its bytes. */
const fingerprint = (key: Parameters<typeof createHmac>[1]) => createHmac("sha256", key).update("x").digest("hex");
const sealKey = (env: Env) => readSettings({ env }).get("sealKey");
const tokenKey = (env: Env) => readSettings({ env }).get("tokenKey");

describe("key settings", () => {
  test("unset means the feature is off", () => {
    expect(sealKey({})).toBeUndefined();
    expect(resolveConfig({ env: {} }).features.sealing).toBe(false);
  });

  test("hex, base64 and base64url in the environment give the same key", () => {
    const want = fingerprint(KEY);
    for (const value of [HEX, HEX.toUpperCase(), B64, KEY.toString("base64url"), `  ${HEX}\n`]) {
      expect(fingerprint(sealKey({ ATO_SEAL_KEY: value })!)).toBe(want);
    }
  });

  test("a file may hold hex text with a newline, base64, or 32 raw bytes", () => {
    const want = fingerprint(KEY);
    for (const [i, content] of [`${HEX}\n`, `${B64}\n`, KEY].entries()) {
      expect(fingerprint(tokenKey({ ATO_TOKEN_KEY_FILE: files.write(`k${i}`, content) })!)).toBe(want);
    }
  });

  test("wrong lengths, bad text, zero keys and both sources are CONFIG errors without the value", () => {
    const secretish = "hunter2-correct-horse-battery-staple";
    const cases: Env[] = [
      { ATO_SEAL_KEY: secretish },
      { ATO_SEAL_KEY: HEX.slice(0, 62) },
      { ATO_SEAL_KEY: `${HEX}00` },
      { ATO_SEAL_KEY: "00".repeat(32) },
      { ATO_SEAL_KEY: HEX, ATO_SEAL_KEY_FILE: files.write("both", HEX) },
      { ATO_SEAL_KEY_FILE: files.write("short", secretish) },
      { ATO_SEAL_KEY_FILE: files.write("raw31", KEY.subarray(0, 31)) },
    ];
    for (const env of cases) {
      const e = thrownAtoError(() => sealKey(env));
      expect(e.code).toBe("CONFIG");
      expect(e.message).toContain("ATO_SEAL_KEY");
      for (const secret of [secretish, HEX, HEX.slice(0, 62), B64, "00".repeat(32)]) {
        expect(e.message).not.toContain(secret);
        expect(String(e.details ?? "")).not.toContain(secret);
      }
    }
  });

  test("a missing key file is a CONFIG error naming the variable and the path", () => {
    const path = join(files.dir, "absent");
    const e = thrownAtoError(() => tokenKey({ ATO_TOKEN_KEY_FILE: path }));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toContain("ATO_TOKEN_KEY_FILE");
    expect(e.message).toContain(path);
  });

  test("resolved keys print and serialise without key material", () => {
    const c = resolveConfig({ env: { ATO_SEAL_KEY: HEX, ATO_TOKEN_KEY: B64 } });
    const shown = [Bun.inspect(c), JSON.stringify(c), String(c.masking.sealKey)].join("\n");
    for (const secret of [HEX, B64, KEY.toString("base64url"), KEY.toString("latin1")]) expect(shown).not.toContain(secret);
  });
});
