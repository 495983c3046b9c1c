import { afterAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskOptionsFromEnv } from "../../src/mask/config.ts";
import { loadKey } from "../../src/mask/keys.ts";
import { thrownAtoError } from "../support/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "ato-keys-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = randomBytes(32);
const HEX = KEY.toString("hex");
const B64 = KEY.toString("base64");

/** Keys are compared by what they compute, since a KeyObject does not show its bytes. */
const fingerprint = (key: Parameters<typeof createHmac>[1]) => createHmac("sha256", key).update("x").digest("hex");

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

describe("key loading", () => {
  test("unset means the feature is off", () => {
    expect(loadKey("ATO_SEAL_KEY", {})).toBeUndefined();
  });

  test("hex, base64 and base64url in the environment give the same key", () => {
    const want = fingerprint(KEY);
    for (const value of [HEX, HEX.toUpperCase(), B64, KEY.toString("base64url"), `  ${HEX}\n`]) {
      expect(fingerprint(loadKey("ATO_SEAL_KEY", { ATO_SEAL_KEY: value })!)).toBe(want);
    }
  });

  test("a file may hold hex text with a newline, base64, or 32 raw bytes", () => {
    const want = fingerprint(KEY);
    for (const content of [`${HEX}\n`, `${B64}\n`, KEY]) {
      const path = file(`k${Math.random()}`, content);
      expect(fingerprint(loadKey("ATO_TOKEN_KEY", { ATO_TOKEN_KEY_FILE: path })!)).toBe(want);
    }
  });

  test("wrong lengths, bad text, zero keys and both sources are CONFIG errors without the value", () => {
    const secretish = "hunter2-correct-horse-battery-staple";
    const cases: Array<Record<string, string>> = [
      { ATO_SEAL_KEY: secretish },
      { ATO_SEAL_KEY: HEX.slice(0, 62) },
      { ATO_SEAL_KEY: `${HEX}00` },
      { ATO_SEAL_KEY: "00".repeat(32) },
      { ATO_SEAL_KEY: HEX, ATO_SEAL_KEY_FILE: file("both", HEX) },
      { ATO_SEAL_KEY_FILE: file("short", secretish) },
      { ATO_SEAL_KEY_FILE: file("raw31", KEY.subarray(0, 31)) },
    ];
    for (const env of cases) {
      const e = thrownAtoError(() => loadKey("ATO_SEAL_KEY", env));
      expect(e.code).toBe("CONFIG");
      expect(e.message).toContain("ATO_SEAL_KEY");
      for (const secret of [secretish, HEX, HEX.slice(0, 62), B64, "00".repeat(32)]) {
        expect(e.message).not.toContain(secret);
        expect(String(e.details ?? "")).not.toContain(secret);
      }
    }
  });

  test("a missing key file is NOT_FOUND and names the variable and path", () => {
    const path = join(dir, "absent");
    const e = thrownAtoError(() => loadKey("ATO_TOKEN_KEY", { ATO_TOKEN_KEY_FILE: path }));
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toContain("ATO_TOKEN_KEY_FILE");
    expect(e.message).toContain(path);
  });

  test.skipIf(process.getuid?.() === 0)("an unreadable key file is PERMISSION", () => {
    const path = file("locked", HEX);
    chmodSync(path, 0o000);
    expect(thrownAtoError(() => loadKey("ATO_TOKEN_KEY", { ATO_TOKEN_KEY_FILE: path })).code).toBe("PERMISSION");
  });

  test("loaded options print and serialise without key material", () => {
    const options = maskOptionsFromEnv({ ATO_SEAL_KEY: HEX, ATO_TOKEN_KEY: B64 });
    const shown = [Bun.inspect(options), JSON.stringify(options), String(options.sealKey)].join("\n");
    for (const secret of [HEX, B64, KEY.toString("base64url"), KEY.toString("latin1")]) expect(shown).not.toContain(secret);
  });
});

describe("options from the environment", () => {
  test("defaults: /24, /48, no ports, no keys, SIMD auto", () => {
    const o = maskOptionsFromEnv({});
    expect([o.ipv4Prefix, o.ipv6Prefix, o.keepPorts.spec, o.tokenKey, o.sealKey, o.simd]).toEqual([24, 48, "none", undefined, undefined, "auto"]);
  });

  test("every setting is configurable", () => {
    const o = maskOptionsFromEnv({
      ATO_MASK_IPV4_PREFIX: "/16",
      ATO_MASK_IPV6_PREFIX: "64",
      ATO_MASK_KEEP_PORTS: "well-known,8080",
      ATO_MASK_SIMD: "sse2",
    });
    expect([o.ipv4Prefix, o.ipv6Prefix, o.keepPorts.spec, o.simd]).toEqual([16, 64, "well-known,8080", "sse2"]);
  });

  test("bad values are CONFIG errors naming the variable", () => {
    for (const [name, value] of [["ATO_MASK_IPV4_PREFIX", "33"], ["ATO_MASK_IPV6_PREFIX", "x"], ["ATO_MASK_SIMD", "avx512"]]) {
      const e = thrownAtoError(() => maskOptionsFromEnv({ [name!]: value }));
      expect(e.code).toBe("CONFIG");
      expect(e.message).toContain(name!);
    }
  });
});
