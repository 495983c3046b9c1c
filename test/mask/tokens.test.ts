import { describe, expect, test } from "bun:test";
import { createHmac, createSecretKey, randomBytes } from "node:crypto";
import { parseAddress } from "../../src/mask/format.ts";
import { Tokenizer, TOKEN_BYTES } from "../../src/mask/tokens.ts";
import { prng, SEED } from "./_random.ts";

const keyA = createSecretKey(randomBytes(32));
const keyB = createSecretKey(randomBytes(32));

describe("keyed address tokens", () => {
  test("follow the documented construction: base64url(HMAC-SHA256(key, family || slot)) truncated to 16 bytes", () => {
    const raw = Buffer.from("2b".repeat(32), "hex");
    const { slot } = parseAddress("198.18.1.7");
    const want = createHmac("sha256", raw).update(Buffer.concat([Buffer.of(4), slot])).digest().subarray(0, TOKEN_BYTES).toString("base64url");
    expect(new Tokenizer(createSecretKey(raw)).token(4, slot)).toBe(want);
    expect(want).toHaveLength(22);
  });

  test(`are stable under one key, differ under another, differ per address and never show it (seed ${SEED})`, () => {
    const r = prng(SEED);
    const a = new Tokenizer(keyA);
    const b = new Tokenizer(keyB);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const family = i % 2 ? 4 : 6;
      const slot = new Uint8Array(16);
      slot.set(r.bytes(family === 4 ? 4 : 16));
      const t = a.token(family, slot);
      expect(new Tokenizer(keyA).token(family, slot.slice())).toBe(t);
      expect(b.token(family, slot)).not.toBe(t);
      const hex = Buffer.from(slot.subarray(0, family === 4 ? 4 : 16)).toString("hex");
      expect(t).not.toContain(hex);
      expect(t).not.toBe(Buffer.from(slot).toString("base64url").slice(0, 22));
      seen.add(t);
    }
    expect(seen.size).toBe(500);
  });

  test("the family is part of the input: an IPv4 address and the IPv6 address with the same bytes differ", () => {
    const slot = parseAddress("198.18.1.7").slot;
    const a = new Tokenizer(keyA);
    expect(a.token(4, slot)).not.toBe(a.token(6, slot));
  });

  test("the token is of the full address: hosts in one /24 get different tokens", () => {
    const a = new Tokenizer(keyA);
    expect(a.token(4, parseAddress("198.18.1.7").slot)).not.toBe(a.token(4, parseAddress("198.18.1.8").slot));
  });
});
