/**
 * CompactFrontier, the writer's allocation-free frontier, is the frontier of RFC 9162 as
 * appendLeaf and the reference tree give it: the same hashes (and their base64) and root after every leaf, also
 * when started from a frontier in the middle of a tree (a log reopened); and so does appendMany,
 * a chunk of leaves at a time with each level's nodes hashed in one batch, from every start size
 * and chunk size, with the portable node hasher and with the writer's (SHA-NI when this CPU has it).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceSha256PathForTests, nativeSha256 } from "../../ffi/sha256.ts";
import { nodeHasher } from "../../src/log/leaves.ts";
import { popcount } from "../../src/tree/bits.ts";
import { CompactFrontier, appendLeaf, base64, frontierRoot, hashNodes, sha256, type Hash, type NodeHasher } from "../../src/tree/index.ts";

afterEach(() => forceSha256PathForTests(undefined));

const leaf = (i: number) => sha256(new TextEncoder().encode(`leaf ${i}`));
const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));

describe("CompactFrontier", () => {
  test("after every one of 1,100 leaves: the frontier and root appendLeaf gives", () => {
    const c = new CompactFrontier();
    let ref: Hash[] = [];
    const leaves = new Uint8Array(32 * 1100);
    for (let i = 0; i < 1100; i++) leaves.set(leaf(i), 32 * i);
    for (let i = 0; i < 1100; i++) {
      ref = appendLeaf(ref, i, leaves.slice(32 * i, 32 * i + 32));
      c.append(leaves, 32 * i);
      expect(c.size).toBe(i + 1);
      expect(hex(c.hashes())).toEqual(hex(ref));
      expect(c.hashesBase64()).toEqual(ref.map(base64));
      expect(Buffer.from(c.root()).toString("hex")).toBe(Buffer.from(frontierRoot(ref)).toString("hex"));
    }
  });

  test("started from a frontier of size 1,000 it continues as the tree does", () => {
    let ref: Hash[] = [];
    for (let i = 0; i < 1000; i++) ref = appendLeaf(ref, i, leaf(i));
    const c = new CompactFrontier(ref, 1000);
    for (let i = 1000; i < 1300; i++) {
      ref = appendLeaf(ref, i, leaf(i));
      c.append(leaf(i));
    }
    expect(hex(c.hashes())).toEqual(hex(ref));
    expect(c.root()).toEqual(frontierRoot(ref));
    expect(new CompactFrontier().root()).toEqual(frontierRoot([]));
  });

  test("past 2^32 and up to 2^53 leaves (a frontier kept by level: no 32-bit arithmetic on the size)", () => {
    const leaves = new Uint8Array(32 * 300);
    for (let i = 0; i < 300; i++) leaves.set(leaf(i), 32 * i);
    for (const start of [2 ** 32 - 7, 2 ** 40 + 3, 2 ** 52 + 2 ** 51 - 150]) {
      // Any hashes make a frontier of a tree of that size (one per set bit): what matters is how the size's bits are read.
      let ref: Hash[] = Array.from({ length: popcount(start) }, (_, i) => leaf(10_000 + i));
      const c = new CompactFrontier(ref, start), d = new CompactFrontier(ref, start);
      let size = start;
      for (const n of [1, 5, 256, 38]) {
        c.appendMany(leaves.slice(0, 32 * n), n, hashNodes);
        for (let i = 0; i < n; i++) {
          d.append(leaves, 32 * i);
          ref = appendLeaf(ref, size + i, leaves.slice(32 * i, 32 * i + 32));
        }
        size += n;
        expect([c.size, d.size]).toEqual([size, size]);
        expect(hex(c.hashes())).toEqual(hex(ref));
        expect(hex(d.hashes())).toEqual(hex(ref));
        expect(c.hashesBase64()).toEqual(ref.map(base64));
        expect(c.root()).toEqual(frontierRoot(ref));
      }
    }
  });

  // The portable hasher, and the SHA-NI one where this CPU has it (a skip, not a silent second run of the first, where not).
  const hashers: [string, () => NodeHasher, boolean][] = [
    ["Bun.SHA256 per node", () => hashNodes, true],
    ["the writer's SHA-NI hasher", () => { const h = nodeHasher(); expect(h).not.toBe(hashNodes); return h; }, nativeSha256() !== undefined],
  ];
  for (const [name, hasher, runs] of hashers) {
    test.skipIf(!runs)(`appendMany (${name}): the frontier appendLeaf gives after every chunk, from every start size up to 70 and chunks of 0 to 300 leaves`, () => {
      const nodes = hasher();
      const leaves = new Uint8Array(32 * 2000);
      for (let i = 0; i < 2000; i++) leaves.set(leaf(i), 32 * i);
      const sizes = [0, 1, 2, 3, 5, 17, 64, 65, 255, 256, 257, 300];
      for (let start = 0; start <= 70; start++) {
        let ref: Hash[] = [];
        for (let i = 0; i < start; i++) ref = appendLeaf(ref, i, leaves.slice(32 * i, 32 * i + 32));
        const c = new CompactFrontier(ref, start);
        let size = start;
        for (const n of [...sizes.slice(start % 5), ...sizes.slice(0, start % 5)]) {
          const chunk = leaves.slice(32 * size, 32 * (size + n));
          c.appendMany(chunk, n, nodes);
          for (let i = 0; i < n; i++) ref = appendLeaf(ref, size + i, chunk.slice(32 * i, 32 * i + 32));
          size += n;
          expect(c.size).toBe(size);
          if (hex(c.hashes()).join() !== hex(ref).join()) expect({ start, size, got: hex(c.hashes()) }).toEqual({ start, size, got: hex(ref) });
          expect(Buffer.from(chunk).equals(Buffer.from(leaves.subarray(32 * (size - n), 32 * size)))).toBe(true); // the leaves are left as they were
        }
        expect(c.root()).toEqual(frontierRoot(ref));
      }
    });
  }
});
