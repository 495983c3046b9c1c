/** Hash text forms: strict base64 of one hash, decoded as Buffer decodes it; anything else refused. */
import { describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { base64, hashFromBase64 } from "../../src/tree/index.ts";
import { prng } from "../verify/_mutations.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

describe("hashFromBase64", () => {
  test("decodes every allowed form to Buffer's bytes, the unused bits of the last character included", () => {
    const rand = prng(21);
    for (let i = 0; i < 20_000; i++) {
      let s = "";
      for (let j = 0; j < 43; j++) s += ALPHABET[Math.floor(rand() * 64)];
      s += "=";
      const h = hashFromBase64(s);
      expect(h).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(h).equals(Buffer.from(s, "base64"))).toBe(true);
      if ("AQgw".includes(s[42]!)) expect(base64(h)).toBe(s); // the canonical ones round-trip
    }
  });

  test("refuses anything but 43 characters and one '='", () => {
    const good = base64(new Uint8Array(32).fill(7));
    for (const bad of [good.slice(0, -1), `${good}=`, `${good.slice(0, -2)}==`, `${good.slice(0, 10)}-${good.slice(11)}`, ` ${good}`, "", 42, null, undefined]) {
      expect(() => hashFromBase64(bad)).toThrow(AtoError);
    }
  });
});
