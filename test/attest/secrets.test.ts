/** Every free-form field of a bundle is masked; only the allowlisted hashed fields pass as they are, and only as SHA-256s. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MASK, SecretMask } from "../../src/attest/index.ts";
import { environmentSecrets } from "../../src/attest/secrets.ts";

describe("SecretMask", () => {
  test("the values of ato's secrets, from the variable or the file it names, are masked wherever they appear", () => {
    const dir = mkdtempSync("/tmp/ato-attest-secrets-");
    try {
      writeFileSync(join(dir, "so-pin"), "so-pin-from-file-7731\n");
      const secrets = environmentSecrets({ PKCS11_PIN: "4711-user-pin", PKCS11_SO_PIN_FILE: join(dir, "so-pin"), ATO_SEAL_KEY: "ab".repeat(32) });
      const m = new SecretMask(secrets);
      const out = m.text(`run softhsm2-util 4711-user-pin; so=so-pin-from-file-7731 key ${"ab".repeat(32)}`);
      expect(out).not.toContain("4711-user-pin");
      expect(out).not.toContain("so-pin-from-file-7731");
      expect(out).not.toContain("ab".repeat(32));
      expect(out.split(MASK).length - 1).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("values after secret-looking names are masked: flags, NAME=value, headers", () => {
    const m = new SecretMask([]);
    expect(m.text("mysql --password=hunter2 -u root")).toBe(`mysql --password=${MASK} -u root`);
    expect(m.text("curl -H 'Authorization: Bearer eyJabc.def' x")).not.toContain("eyJabc");
    expect(m.text("DB_PASSWORD=s3cr3t ./migrate")).toBe(`DB_PASSWORD=${MASK} ./migrate`);
    expect(m.text("pkcs11-tool --pin 123456 --login")).toBe(`pkcs11-tool --pin ${MASK} --login`);
    expect(m.text("/etc/nginx/nginx.conf")).toBe("/etc/nginx/nginx.conf");
  });

  test("a hashed field passes only as a SHA-256; everything else is masked", () => {
    const m = new SecretMask(["topsecret"]);
    const sha = "a".repeat(64);
    expect(m.value({ sha256_after: sha, note: "topsecret", nested: [{ path: "/x/topsecret" }] })).toEqual({ sha256_after: sha, note: MASK, nested: [{ path: `/x/${MASK}` }] });
    expect(() => m.value({ sha256: "topsecret" })).toThrow(/must be a hex SHA-256/);
  });
});
