/**
 * The native span check of libatosha256.so (ato_sha256_spans_within: every line inside the buffer and after its
 * first byte, checked before the leaf hashes read them) against its one-line oracle, on every build of the
 * library: x86-64's (asm/sha256_tree.asm) and arm64's (asm/sha256_tree_arm64.S, run by test/matrix/arm64.test.ts
 * under qemu-user), where leaves() never calls it. Memory only.
 */
import { describe, expect, test } from "bun:test";
import { spansWithinForTests } from "../../ffi/sha256.ts";

/** The first span that starts at 0 or ends past `size` (exact arithmetic: no 32-bit wrap), else the count. */
function oracle(spans: Uint32Array, count: number, size: number): number {
  for (let i = 0; i < count; i++) if (spans[2 * i] === 0 || spans[2 * i]! + spans[2 * i + 1]! > size) return i;
  return count;
}

function prng(start: number): () => number {
  let x = start >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const check = (words: number[], size: number) => {
  const spans = Uint32Array.from(words);
  return { native: spansWithinForTests(spans, words.length / 2, size), oracle: oracle(spans, words.length / 2, size) };
};

describe("the native span check", () => {
  test("names the first span at 0 or past the end; a span may end at the buffer's last byte", () => {
    expect(check([1, 10, 12, 10, 23, 77, 99, 1], 100)).toEqual({ native: 4, oracle: 4 });
    expect(check([1, 10, 12, 10, 23, 78, 30, 5], 100)).toEqual({ native: 2, oracle: 2 });
    expect(check([1, 10, 12, 10, 23, 10, 0, 5], 100)).toEqual({ native: 3, oracle: 3 });
    expect(check([0, 0], 100)).toEqual({ native: 0, oracle: 0 });
    expect(check([100, 0], 100)).toEqual({ native: 1, oracle: 1 }); // an empty line at the end
    expect(check([101, 0], 100)).toEqual({ native: 0, oracle: 0 });
  });

  test("start + length is not taken modulo 2^32, and a buffer past 4 GiB holds spans that end past 2^32", () => {
    expect(check([1, 10, 0xfffffff0, 0x20], 100)).toEqual({ native: 1, oracle: 1 });
    expect(check([0xffffffff, 0xffffffff], 2 ** 32)).toEqual({ native: 0, oracle: 0 });
    expect(check([0xfffffff0, 0x20, 0xffffffff, 0xffffffff], 2 ** 33)).toEqual({ native: 2, oracle: 2 });
    expect(check([0xfffffff0, 0x20, 0xffffffff, 0xffffffff], 2 ** 33 - 3)).toEqual({ native: 1, oracle: 1 }); // 0xffffffff + 0xffffffff = 2^33 - 2
  });

  test("random batches, the bad span anywhere or nowhere, agree with the oracle", () => {
    const next = prng(9);
    const wrong: string[] = [];
    for (let round = 0; round < 1_000; round++) {
      const count = 1 + Math.floor(next() * 200);
      const size = Math.floor(next() * 2 ** 34);
      const spans = new Uint32Array(2 * count);
      for (let i = 0; i < count; i++) {
        spans[2 * i] = 1 + Math.floor(next() * Math.min(size, 0xfffffffe));
        spans[2 * i + 1] = Math.floor(next() * Math.min(size - spans[2 * i]! + 1, 0xffffffff));
      }
      const bad = Math.floor(next() * count * 1.5); // past count: none
      if (bad < count) {
        const r = next();
        if (r < 0.3) spans[2 * bad] = 0;
        else if (r < 0.6) spans[2 * bad + 1] = Math.min(0xffffffff, size - spans[2 * bad]! + 1);
        else spans[2 * bad + 1] = 0xffffffff;
      }
      const native = spansWithinForTests(spans, count, size), want = oracle(spans, count, size);
      if (native !== want) wrong.push(`round ${round}: count ${count}, size ${size}: native ${native}, oracle ${want}`);
    }
    expect(wrong).toEqual([]);
  });
});
