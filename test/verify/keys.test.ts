/**
 * The trusted keys' lookups that verify keeps from one checkpoint to the next (keys.ts): the key found for a
 * signature's name and key ID, and its signature check, answer as computing them afresh does, for every name a
 * log may use (more names than are kept too) and for good, bad and foreign signatures.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId } from "../../src/evidence/index.ts";
import { verifySignature } from "../../src/signer/verify.ts";
import { findKey, keyCheck, loadKeys } from "../../src/verify/keys.ts";

const dir = mkdtempSync(join(tmpdir(), "ato-verify-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyPair(type: "ed25519" | "ec", file: string) {
  const pair = type === "ec" ? generateKeyPairSync("ec", { namedCurve: "prime256v1" }) : generateKeyPairSync("ed25519");
  writeFileSync(join(dir, file), pair.publicKey.export({ format: "pem", type: "spki" }));
  return pair;
}

describe("trusted keys", () => {
  const a = keyPair("ed25519", "a.pem");
  keyPair("ed25519", "b.pem");
  const p = keyPair("ec", "p.pem");
  const keys = loadKeys([join(dir, "a.pem"), join(dir, "b.pem"), join(dir, "p.pem")]);

  test("the key for a name and key ID is the one computing the IDs finds, for 200 names, asked twice each", () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200; i++) {
        const name = `host-${i}`;
        for (const k of keys) expect(findKey(keys, name, keyId(name, k.algorithm, k.spkiDer))).toBe(k);
        expect(findKey(keys, name, keyId(`other-${i}`, keys[0]!.algorithm, keys[0]!.spkiDer))).toBeUndefined();
      }
    }
  });

  test("a key's kept check gives verifySignature's answer on good, changed and foreign signatures", () => {
    const message = new TextEncoder().encode("ato/test\n42\nAAAA\n");
    const good = new Uint8Array(sign(null, message, a.privateKey));
    const changed = good.slice();
    changed[10]! ^= 1;
    const ecdsa = new Uint8Array(sign("sha256", message, p.privateKey));
    for (const k of keys) {
      for (const sig of [good, changed, ecdsa, good.subarray(0, 63), new Uint8Array(0)]) {
        for (let round = 0; round < 2; round++) expect(keyCheck(k)(message, sig)).toBe(verifySignature(k.spkiDer, k.algorithm, message, sig));
      }
    }
    expect(keyCheck(keys[0]!)(message, good)).toBe(true);
    expect(keyCheck(keys[2]!)(message, ecdsa)).toBe(true);
    expect(keyCheck(keys[1]!)(message, good)).toBe(false);
  });
});
