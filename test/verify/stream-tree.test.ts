/** The verifier's allocation-free running tree gives exactly the frontier and root of src/tree, at every size. */
import { describe, expect, test } from "bun:test";
import { StreamTree } from "../../src/verify/stream-tree.ts";
import { appendLeaf, frontierRoot, hashLeaf, type Hash } from "../../src/tree/index.ts";

const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));

function randomLine(rand: () => number): Uint8Array {
  const b = new Uint8Array(1 + Math.floor(rand() * 300)); // byte 0 is the spare byte before the line
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("StreamTree", () => {
  test("appending lines matches appendLeaf and frontierRoot at each of 2,000 sizes, and leaves the spare byte as it was", () => {
    const rand = prng(7);
    const tree = new StreamTree();
    let frontier: Hash[] = [];
    for (let size = 0; size < 2000; size++) {
      const line = randomLine(rand);
      const spare = line[0];
      tree.appendLine(line, 1, line.length);
      expect(line[0]).toBe(spare!);
      frontier = appendLeaf(frontier, size, hashLeaf(line.subarray(1)));
      expect(tree.size).toBe(size + 1);
      expect(hex(tree.frontier)).toEqual(hex(frontier));
      expect(hex([frontierRoot(tree.frontier)])).toEqual(hex([frontierRoot(frontier)]));
    }
  });

  test("a frontier set for a size (also past 2^32) reads back the same and appends as appendLeaf does", () => {
    const rand = prng(11);
    for (const size of [1, 2, 3, 7, 8, 1000, 2 ** 31 - 1, 2 ** 32 + 5, 2 ** 40 - 1, 2 ** 52 + 3]) {
      const bits = size.toString(2).split("").filter((c) => c === "1").length;
      const frontier = Array.from({ length: bits }, () => hashLeaf(randomLine(rand)));
      const tree = new StreamTree(size, frontier);
      expect(hex(tree.frontier)).toEqual(hex(frontier));
      const line = randomLine(rand);
      tree.appendLine(line, 1, line.length);
      expect(hex(tree.frontier)).toEqual(hex(appendLeaf(frontier, size, hashLeaf(line.subarray(1)))));
      tree.size = 3; // reset as a resynchronising checkpoint does: size first, then frontier
      const reset = [hashLeaf(randomLine(rand)), hashLeaf(randomLine(rand))];
      tree.frontier = reset;
      expect(hex(tree.frontier)).toEqual(hex(reset));
    }
  });
});
