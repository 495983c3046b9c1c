import { describe, expect, test } from "bun:test";
import { createSecretKey, randomBytes } from "node:crypto";
import { AtoError } from "../../src/errors.ts";
import { Sealer } from "../../src/mask/seal.ts";
import { revealFlowFields, sealFlowFields } from "../../src/mask/sealed-fields.ts";
import { thrownAtoError } from "../support/errors.ts";

const RAW_A = randomBytes(32);
const RAW_B = randomBytes(32);
const A = new Sealer(createSecretKey(RAW_A));
const B = new Sealer(createSecretKey(RAW_B));
const ID = "ato/host-1#42";

/** No message may carry key material, in any encoding. */
function expectNoSecret(e: AtoError): void {
  const text = `${e.message}\n${e.details ?? ""}`;
  for (const raw of [RAW_A, RAW_B]) {
    for (const enc of ["hex", "base64", "base64url"] as const) expect(text).not.toContain(raw.toString(enc));
  }
}

describe("AES-256-GCM sealing", () => {
  test("round-trips, with the documented shape and a fresh nonce each time", () => {
    const s1 = A.seal("198.18.1.7 51234", ID);
    const s2 = A.seal("198.18.1.7 51234", ID);
    expect(s1).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(s1.split(".")[1]).toBe(A.keyId);
    expect(s1).not.toBe(s2);
    expect(A.unseal(s1, ID)).toBe("198.18.1.7 51234");
    expect(A.unseal(s2, ID)).toBe("198.18.1.7 51234");
    expect(s1).not.toContain("198.18.1.7");
  });

  test("the key id names the key and reveals none of it", () => {
    expect(A.keyId).not.toBe(B.keyId);
    expect(new Sealer(createSecretKey(RAW_A)).keyId).toBe(A.keyId);
    expect(RAW_A.toString("hex")).not.toContain(A.keyId);
  });

  test("another key fails as UNTRUSTED, naming both key ids and no key", () => {
    const e = thrownAtoError(() => B.unseal(A.seal("x", ID), ID));
    expect(e.code).toBe("UNTRUSTED");
    expect(e.message).toContain(A.keyId);
    expect(e.message).toContain(B.keyId);
    expectNoSecret(e);
  });

  test("another key forged under the right key id still fails, as TAMPERED", () => {
    const sealed = B.seal("x", ID).replace(`.${B.keyId}.`, `.${A.keyId}.`);
    const e = thrownAtoError(() => A.unseal(sealed, ID));
    expect(e.code).toBe("TAMPERED");
    expectNoSecret(e);
  });

  test("a different record identity (AAD) fails as TAMPERED, naming the identity", () => {
    const e = thrownAtoError(() => A.unseal(A.seal("x", ID), "ato/host-1#43"));
    expect(e.code).toBe("TAMPERED");
    expect(e.message).toContain("ato/host-1#43");
    expectNoSecret(e);
  });

  test("any changed ciphertext, tag or nonce byte fails as TAMPERED", () => {
    const sealed = A.seal("198.18.1.7", ID);
    const [v, kid, nonce, body] = sealed.split(".");
    const flip = (text: string, i: number) => {
      const b = Buffer.from(text, "base64url");
      b[i] ^= 1;
      return b.toString("base64url");
    };
    const bodyLen = Buffer.from(body!, "base64url").length;
    for (let i = 0; i < bodyLen; i++) expect(thrownAtoError(() => A.unseal([v, kid, nonce, flip(body!, i)].join("."), ID)).code).toBe("TAMPERED");
    for (let i = 0; i < 12; i++) expect(thrownAtoError(() => A.unseal([v, kid, flip(nonce!, i), body].join("."), ID)).code).toBe("TAMPERED");
  });

  test("malformed values are CORRUPT", () => {
    const good = A.seal("x", ID);
    const [, kid, nonce, body] = good.split(".");
    for (const bad of ["", "v1", `v2.${kid}.${nonce}.${body}`, `v1.${kid}.${nonce}`, `v1.zz.${nonce}.${body}`, `v1.${kid}.AAAA.${body}`, `v1.${kid}.${nonce}.AAAA`, `${good}.x`, `v1.${kid}.${nonce}.${body}!`]) {
      const e = thrownAtoError(() => A.unseal(bad, ID));
      expect({ bad, code: e.code }).toEqual({ bad, code: "CORRUPT" });
    }
  });

  test("flow fields seal as canonical JSON and reveal as the same object", () => {
    const fields = { src: "198.18.1.7", dst: "198.18.0.2", sport: 51234, dport: 443 };
    const sealed = sealFlowFields(A, fields, ID);
    expect(A.unseal(sealed, ID)).toBe('{"dport":443,"dst":"198.18.0.2","sport":51234,"src":"198.18.1.7"}');
    expect(revealFlowFields(A, sealed, ID)).toEqual(fields);
    expect(thrownAtoError(() => revealFlowFields(A, A.seal("[1,2]", ID), ID)).code).toBe("CORRUPT");
  });
});
