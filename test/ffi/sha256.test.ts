/**
 * The native RFC 9162 hashes (ffi/sha256.ts, asm/sha256_tree.asm) against node:crypto: leaves of
 * every length 0..300, the lengths where SHA-256's padding changes shape, long lines up to
 * 1 MiB, lines packed at odd offsets of one buffer (as the reader hands them over), and node
 * hashes, also in place. On an x86-64 CPU with SHA-NI the library must load: a missing or
 * broken build fails here rather than quietly taking the portable path.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hashPath, nativeSha256 } from "../../ffi/sha256.ts";

const hasShaNi = process.arch === "x64" && /^flags\s*:.*\bsha_ni\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
const lib = nativeSha256();

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const leafOracle = (b: Uint8Array) => createHash("sha256").update(Buffer.from([0])).update(b).digest("hex");
const nodeOracle = (b: Uint8Array) => createHash("sha256").update(Buffer.from([1])).update(b).digest("hex");
const hexAt = (out: Uint8Array, i: number) => Buffer.from(out.subarray(32 * i, 32 * i + 32)).toString("hex");

/** The lines packed into one buffer, each after one separator byte, with random content. */
function packed(lengths: number[], rand: () => number): { buf: Uint8Array; spans: Uint32Array } {
  const buf = new Uint8Array(1 + lengths.reduce((a, l) => a + l + 1, 0));
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
  const spans = new Uint32Array(2 * lengths.length);
  let at = 1;
  lengths.forEach((l, i) => {
    spans[2 * i] = at;
    spans[2 * i + 1] = l;
    at += l + 1;
  });
  return { buf, spans };
}

function checkLeaves(lengths: number[], seed: number): void {
  const { buf, spans } = packed(lengths, prng(seed));
  const before = buf.slice();
  const out = new Uint8Array(32 * lengths.length);
  lib!.leaves(buf, spans, lengths.length, out);
  expect(Buffer.compare(Buffer.from(buf), Buffer.from(before))).toBe(0); // read, never written
  const bad = lengths.flatMap((l, i) => (hexAt(out, i) === leafOracle(buf.subarray(spans[2 * i]!, spans[2 * i]! + l)) ? [] : [l]));
  expect(bad).toEqual([]);
}

describe.skipIf(!hasShaNi)("native SHA-256 (SHA-NI)", () => {
  test("loads on this CPU", () => {
    expect(hashPath()).toEqual({ path: "sha-ni" });
  });

  test("leaf hashes of every length 0..300 equal node:crypto's SHA-256(0x00 || line)", () => {
    checkLeaves(Array.from({ length: 301 }, (_, i) => i), 1);
    checkLeaves(Array.from({ length: 301 }, (_, i) => 300 - i), 2); // the other lane gets the other lengths
  });

  test("leaf hashes at the padding boundaries (the 0x00 prefix counts) and of long lines up to 1 MiB", () => {
    const edges = [55, 56, 63, 64, 119, 120, 127, 128, 183, 184, 191, 192, 247, 248, 255, 256, 511, 512, 1023, 1024, 4095, 65535];
    checkLeaves(edges.flatMap((l) => [l - 1, l, l + 1]), 3);
    checkLeaves([1 << 20, 3, (1 << 20) - 1, 100_000, 0], 4);
  });

  test("a batch of many random lines, and the same lines one per call, agree", () => {
    const rand = prng(5);
    const lengths = Array.from({ length: 3000 }, () => Math.floor(rand() * 700));
    checkLeaves(lengths, 6);
    const { buf, spans } = packed(lengths.slice(0, 50), prng(7));
    const all = new Uint8Array(32 * 50);
    lib!.leaves(buf, spans, 50, all);
    for (let i = 0; i < 50; i++) {
      const one = new Uint8Array(32);
      lib!.leaves(buf, spans.subarray(2 * i, 2 * i + 2), 1, one);
      expect(Buffer.from(one).toString("hex")).toBe(hexAt(all, i));
    }
  });

  test("node hashes equal SHA-256(0x01 || left || right), also written in place over their input", () => {
    const rand = prng(8);
    for (const n of [1, 2, 3, 17, 1000]) {
      const input = new Uint8Array(64 * n + 32);
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(rand() * 256);
      const want = Array.from({ length: n }, (_, i) => nodeOracle(input.subarray(32 + 64 * i, 96 + 64 * i)));
      const out = new Uint8Array(32 * n);
      lib!.nodes(input, 32, n, out, 0);
      expect(Array.from({ length: n }, (_, i) => hexAt(out, i))).toEqual(want);
      lib!.nodes(input, 32, n, input, 32);
      expect(Array.from({ length: n }, (_, i) => Buffer.from(input.subarray(32 + 32 * i, 64 + 32 * i)).toString("hex"))).toEqual(want);
    }
  });

  test("spans outside the buffer, or at offset 0 (no byte before the line), are refused before the call", () => {
    const buf = new Uint8Array(100);
    const out = new Uint8Array(32);
    expect(() => lib!.leaves(buf, new Uint32Array([0, 10]), 1, out)).toThrow(/outside|at 0/);
    expect(() => lib!.leaves(buf, new Uint32Array([50, 51]), 1, out)).toThrow(/outside/);
    expect(() => lib!.leaves(buf, new Uint32Array([1, 10]), 2, out)).toThrow(/span words/);
  });

  test.skipIf(!lib)("the spans are checked natively, each of them: the first bad line of a batch is named, a sum past 2^32 does not wrap, a line may end at the buffer's end", () => {
    const buf = new Uint8Array(100);
    const out = new Uint8Array(32 * 4);
    expect(() => lib!.leaves(buf, new Uint32Array([1, 10, 12, 10, 23, 78, 30, 5]), 4, out)).toThrow("line 2 [23, +78) is outside the 100-byte buffer or at 0");
    expect(() => lib!.leaves(buf, new Uint32Array([1, 10, 12, 10, 23, 10, 0, 5]), 4, out)).toThrow("line 3 [0, +5) is outside");
    expect(() => lib!.leaves(buf, new Uint32Array([1, 10, 0xfffffff0, 0x20]), 2, out)).toThrow("line 1 [4294967280, +32) is outside");
    lib!.leaves(buf, new Uint32Array([1, 10, 12, 10, 23, 77, 99, 1]), 4, out); // the last line ends at byte 100
    expect(hexAt(out, 2)).toBe(leafOracle(buf.subarray(23, 100)));
    expect(hexAt(out, 3)).toBe(leafOracle(buf.subarray(99, 100)));
  });
});
