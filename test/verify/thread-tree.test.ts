/**
 * The running tree with leaves and subtrees made ahead (by the hash worker, here made by the same
 * routines in this thread) gives exactly src/tree's frontier and root whenever it is read: a chunk's
 * lines appended from the first or a later one, subtrees predicted for the tree's real size, for a
 * size off by a few leaves (only the low levels line up, or none) or for a random one, trees
 * starting at odd and even sizes, reads at random points (so a merge starts and ends mid-subtree).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { nativeSha256 } from "../../ffi/sha256.ts";
import { provideLeaves, StreamTree, type LeafSource } from "../../src/verify/stream-tree.ts";
import { BASE_MOD, foldLevels, levelLayout } from "../../src/verify/subtrees.ts";
import { appendLeaf, frontierRoot, hashLeaf, type Hash } from "../../src/tree/index.ts";

const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));
const lib = nativeSha256();

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** n random lines in one buffer, and the source the worker would make for them, predicted to start at tree size `base`. */
function chunk(n: number, base: number, rand: () => number): { buf: Uint8Array; lines: [number, number][]; source: LeafSource } {
  const lengths = Array.from({ length: n }, () => Math.floor(rand() * 300));
  const buf = new Uint8Array(1 + lengths.reduce((a, l) => a + l + 1, 0));
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
  let at = 1;
  const lines = lengths.map((l) => { const r: [number, number] = [at, at + l]; at += l + 1; return r; });
  const spans = new Uint32Array(lines.flatMap(([s, e]) => [s, e - s]));
  const hashes = new Uint8Array(32 * n);
  const levels = new Uint8Array(32 * n);
  lib!.leaves(buf, spans, n, hashes, 0);
  foldLevels(lib!, hashes, levels, levelLayout(n, base));
  return { buf, lines, source: { buf, spans, hashes, levels, count: n, base, cursor: 0, ready: () => {} } };
}

afterEach(() => provideLeaves(undefined));

describe.skipIf(lib === undefined)("StreamTree with leaves made ahead", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`equals src/tree at every read (seed ${seed})`, () => {
      const rand = prng(seed);
      let size = seed % 2; // an odd and an even start
      let frontier: Hash[] = [];
      for (let i = 0; i < size; i++) frontier = appendLeaf(frontier, i, hashLeaf(new Uint8Array([i])));
      const tree = new StreamTree(size, frontier, lib);
      for (let c = 0; c < 16; c++) {
        const skip = rand() < 0.5 ? Math.floor(rand() * 5) : 0; // lines not appended (as before a tree is reset mid-chunk)
        const r = rand();
        // The prediction: right, off by a few leaves or by a power of two, or anything.
        const base = r < 0.5 ? size - skip : r < 0.7 ? size - skip + Math.floor(rand() * 9) - 4 : r < 0.85 ? size - skip + 2 ** Math.floor(rand() * 14) : Math.floor(rand() * BASE_MOD);
        const { buf, lines, source } = chunk(1 + Math.floor(rand() * 3000), ((base % BASE_MOD) + BASE_MOD) % BASE_MOD, rand);
        provideLeaves(source);
        const reads = [0.02, 0.002, 0][Math.floor(rand() * 3)]!; // flushes of ~50 lines, ~500, or the whole chunk at once
        let appended = 0;
        for (const [s, e] of lines.slice(skip)) {
          tree.appendLine(buf, s, e);
          appended++;
          frontier = appendLeaf(frontier, size++, hashLeaf(buf.subarray(s, e)));
          if (rand() < reads) {
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
