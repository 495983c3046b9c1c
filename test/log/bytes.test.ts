/**
 * JsonBytes writes what canonicalize() (RFC 8785) and Date.toISOString write, byte for byte:
 * strings with and without escapes, numbers, and RFC 3339 times by arithmetic across leap
 * years, century rules and the ends of the supported range.
 */
import { describe, expect, test } from "bun:test";
import { canonicalize } from "../../src/evidence/index.ts";
import { JsonBytes } from "../../src/log/index.ts";

const decoder = new TextDecoder();
function written(f: (w: JsonBytes) => void): string {
  const w = new JsonBytes(4); // small: every writer must grow the buffer itself
  f(w);
  return decoder.decode(w.buf.subarray(0, w.pos));
}

describe("JsonBytes", () => {
  test("isoTime writes JSON.stringify(new Date(ms).toISOString()) for random and edge times", () => {
    const edges = [0, -1, 1, 951_782_400_000 /* 2000-02-29 */, 4_107_542_400_000 /* 2100-03-01 */, -62_167_219_200_000, 253_402_300_799_999, 1_796_128_413_240, 68_256_000_000 - 1];
    let seed = 12345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const times = [...edges, ...Array.from({ length: 20_000 }, () => Math.floor(-62_167_219_200_000 + random() * (253_402_300_799_999 + 62_167_219_200_000)))];
    const wrong = times.filter((ms) => written((w) => w.isoTime(ms)) !== JSON.stringify(new Date(ms).toISOString()));
    expect(wrong).toEqual([]);
  });

  test("isoTime refuses what RFC 3339 with four-digit years cannot say", () => {
    for (const ms of [253_402_300_800_000, -62_167_219_200_001, 1.5, Number.NaN]) expect(() => written((w) => w.isoTime(ms))).toThrow(/outside years 0 to 9999/);
  });

  test("strings and numbers are written as canonicalize writes them", () => {
    const strings = ["", "plain", "quote\"back\\slash", "tab\tnl\ncr\r", "\u0000\u001f\u007f", "é ü ß", "\u2028\u2029", "😀", "eth0.100"];
    for (const s of strings) expect(written((w) => w.string(s))).toBe(canonicalize(s));
    const numbers = [0, 1, 9, 10, 4_294_967_295, 4_294_967_296, 2 ** 53 - 1, -1, 0.5, 1e21, 1e-7, -0];
    for (const n of numbers) expect(written((w) => w.number(n))).toBe(canonicalize(n));
    expect(() => written((w) => w.string("\ud800"))).toThrow(/lone surrogate/);
  });
});
