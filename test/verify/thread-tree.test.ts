/**
 * The running tree with leaves made ahead (by the hash worker, here made by the same routine in this
 * thread) gives exactly src/tree's frontier and root whenever it is read: a chunk's lines appended
 * from the first or a later one (so the source's pairs line up with the tree's level-1 nodes at
 * some reads and not at others), pairs starting at leaf 0 or 1, trees starting at odd and even
 * sizes, reads at random points.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { nativeSha256 } from "../../ffi/sha256.ts";
import { provideLeaves, StreamTree, type LeafSource } from "../../src/verify/stream-tree.ts";
import { appendLeaf, frontierRoot, hashLeaf, type Hash } from "../../src/tree/index.ts";

const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));
const lib = nativeSha256();

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** n random lines in one buffer, and the source the worker would make for them. */
function chunk(n: number, rand: () => number): { buf: Uint8Array; lines: [number, number][]; source: LeafSource } {
  const lengths = Array.from({ length: n }, () => Math.floor(rand() * 300));
  const buf = new Uint8Array(1 + lengths.reduce((a, l) => a + l + 1, 0));
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
  let at = 1;
  const lines = lengths.map((l) => { const r: [number, number] = [at, at + l]; at += l + 1; return r; });
  const spans = new Uint32Array(lines.flatMap(([s, e]) => [s, e - s]));
  const hashes = new Uint8Array(32 * n);
  const align = rand() < 0.5 ? 0 : 1; // the worker's pairs start at leaf 0 or 1, as predicted for the tree
  const pairs = new Uint8Array(32 * Math.floor((n - align) / 2));
  lib!.leaves(buf, spans, n, hashes, 0);
  lib!.nodes(hashes, 32 * align, Math.floor((n - align) / 2), pairs, 0);
  let readied = 0;
  return { buf, lines, source: { buf, spans, hashes, pairs, count: n, align, cursor: 0, ready: () => void readied++ } };
}

afterEach(() => provideLeaves(undefined));

describe.skipIf(lib === undefined)("StreamTree with leaves made ahead", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`equals src/tree at every read (seed ${seed})`, () => {
      const rand = prng(seed);
      let size = seed % 2; // an odd and an even start
      let frontier: Hash[] = [];
      for (let i = 0; i < size; i++) frontier = appendLeaf(frontier, i, hashLeaf(new Uint8Array([i])));
      const tree = new StreamTree(size, frontier, lib);
      for (let c = 0; c < 10; c++) {
        const { buf, lines, source } = chunk(1 + Math.floor(rand() * 3000), rand);
        provideLeaves(source);
        let appended = 0;
        const skip = rand() < 0.5 ? Math.floor(rand() * 5) : 0; // lines not appended (as before a tree is reset mid-chunk)
        for (const [s, e] of lines.slice(skip)) {
          tree.appendLine(buf, s, e);
          appended++;
          frontier = appendLeaf(frontier, size++, hashLeaf(buf.subarray(s, e)));
          if (rand() < 0.02) {
            expect(hex(tree.frontier)).toEqual(hex(frontier));
            expect(hex([frontierRoot(tree.frontier)])).toEqual(hex([frontierRoot(frontier)]));
          }
        }
        tree.flush();
        provideLeaves(undefined);
        expect(source.cursor > 0).toBe(appended > 0); // the source was used
        expect(hex(tree.frontier)).toEqual(hex(frontier));
      }
    });
  }
});
