/**
 * JsonBytes writes what canonicalize() (RFC 8785) and Date.toISOString write, byte for byte:
 * strings with and without escapes, numbers, and RFC 3339 times by arithmetic across leap
 * years, century rules and the ends of the supported range.
 */
import { describe, expect, test } from "bun:test";
import { canonicalize, encodeRecord } from "../../src/evidence/index.ts";
import { encodeLines, encodeTextLines, MAX_LINE_BYTES, type LineWriter } from "../../src/log/encode.ts";
import { JsonBytes } from "../../src/log/index.ts";
import { hashLeaf } from "../../src/tree/index.ts";

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

describe("encodeLines", () => {
  test("writes, line for line, what encodeRecord writes, and each line's leaf hash", () => {
    const data = [
      { src: "198.18.0.0/24", packets: 3, nested: { z: [1, "two", null, true], a: { "é": 1, "\u0001": "x" } } },
      { s: "😀 \u2028 \"q\" \\", big: 2n ** 40n, n: -0.5, e: 1e21, skip: undefined },
      {},
    ];
    const { text, leaves } = encodeLines("flow", data, "internal", 41, "2026-12-01T12:00:00.000Z");
    const count = leaves.length;
    const lines = decoder.decode(text.subarray(1)).split("\n").slice(0, -1);
    expect(count).toBe(3);
    expect(lines).toEqual(data.map((d, i) => encodeRecord({ v: 1, seq: 41 + i, ts: "2026-12-01T12:00:00.000Z", kind: "flow", class: "internal", data: d })));
    for (let i = 0; i < count; i++) expect(leaves[i]).toEqual(hashLeaf(new TextEncoder().encode(lines[i]!)));
  });

  test("refuses what encodeRecord refuses: a bad kind or class, data that is not an object, a line over 1 MiB", () => {
    const ts = "2026-12-01T12:00:00.000Z";
    expect(() => encodeLines("Flow", [{}], "internal", 0, ts)).toThrow(/record kind/);
    expect(() => encodeLines("flow", [{}], "has space", 0, ts)).toThrow(/classification/);
    expect(() => encodeLines("flow", [[] as unknown as Record<string, unknown>], "internal", 0, ts)).toThrow(/JSON object/);
    expect(() => encodeLines("flow", [{ pad: "x".repeat(1 << 20) }], "internal", 0, ts)).toThrow(/larger than the 1048576-byte limit/);
  });

  test("records as text (the flow records' path): a line of exactly 1 MiB is written, one byte more is refused, lines over 1 MiB together are not", () => {
    const ts = "2026-12-01T12:00:00.000Z";
    const envelope = encodeTextLines("flow", 1, () => `{"pad":""}`, "internal", 7, ts).text.length - 2 - `{"pad":""}`.length; // without the spare byte and newline
    const padded = (bytes: number) => `{"pad":"${"x".repeat(bytes - envelope - `{"pad":""}`.length)}"}`;
    const texts = (...sizes: number[]) => (i: number) => (sizes[i] ? padded(sizes[i]!) : `{"n":${i}}`);
    const exact = encodeTextLines("flow", 3, texts(0, MAX_LINE_BYTES, 0), "internal", 7, ts);
    expect(decoder.decode(exact.text.subarray(1)).split("\n").map((l) => l.length)).toEqual([expect.any(Number), MAX_LINE_BYTES, expect.any(Number), 0]);
    expect(() => encodeTextLines("flow", 3, texts(0, MAX_LINE_BYTES + 1, 0), "internal", 7, ts)).toThrow(`a flow record of ${MAX_LINE_BYTES + 1} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`);
    const many = encodeTextLines("flow", 5, texts(300_000, 300_000, 300_000, 300_000, 300_000), "internal", 7, ts);
    expect(many.text.length).toBeGreaterThan(MAX_LINE_BYTES);
    expect(many.leaves).toHaveLength(5);
    // A line writer's lines are held to the same limit as the text's.
    const long: LineWriter = (w, from, n, env, firstSeq, spans) => {
      const line = new Uint8Array(MAX_LINE_BYTES + 1).fill(0x78); // its whole line, envelope and all
      w.ensure(line.length + 1);
      w.buf.set(line, w.pos);
      spans[2 * from] = w.pos;
      spans[2 * from + 1] = line.length;
      w.pos += line.length;
      w.byte(0x0a);
      return from + 1;
    };
    expect(() => encodeTextLines("flow", 2, texts(0, 0), "internal", 7, ts, long)).toThrow(`a flow record of ${MAX_LINE_BYTES + 1} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`);
  });
});
