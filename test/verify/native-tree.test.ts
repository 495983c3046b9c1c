/**
 * The running tree on the native path (lines noted, then hashed and folded in batches) gives
 * exactly src/tree's frontier and root, whenever it is read: after every line, after random
 * runs of lines from one shared buffer (as the reader hands them over), across full batches,
 * and from a frontier set past 2^32. The portable path (forced through ffi's test hook) gives
 * the same.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceSha256PathForTests, nativeSha256 } from "../../ffi/sha256.ts";
import { StreamTree } from "../../src/verify/stream-tree.ts";
import { appendLeaf, frontierRoot, hashLeaf, type Hash } from "../../src/tree/index.ts";

const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));
const native = nativeSha256() !== undefined;

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** n random lines packed in one buffer, each after a separator byte: [start, end) per line. */
function chunk(n: number, rand: () => number): { buf: Uint8Array; lines: [number, number][] } {
  const lengths = Array.from({ length: n }, () => Math.floor(rand() * 400));
  const buf = new Uint8Array(1 + lengths.reduce((a, l) => a + l + 1, 0));
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
  let at = 1;
  return { buf, lines: lengths.map((l) => { const r: [number, number] = [at, at + l]; at += l + 1; return r; }) };
}

afterEach(() => forceSha256PathForTests(undefined));

for (const path of ["sha-ni", "bun"] as const) {
  describe.skipIf(path === "sha-ni" && !native)(`StreamTree on the ${path} path`, () => {
    const make = (size = 0, frontier: Hash[] = []) => {
      if (path === "bun") forceSha256PathForTests(false);
      const t = new StreamTree(size, frontier);
      expect(t.hashPath).toBe(path);
      return t;
    };

    test("read after random runs of lines from shared buffers, the frontier and root are src/tree's at every size read", () => {
      const rand = prng(path === "bun" ? 3 : 4);
      const tree = make();
      let frontier: Hash[] = [];
      let size = 0;
      for (let c = 0; c < 12; c++) {
        const { buf, lines } = chunk(c === 5 ? 9000 : 1 + Math.floor(rand() * 1500), rand); // one chunk past a full batch
        for (const [s, e] of lines) {
          tree.appendLine(buf, s, e);
          frontier = appendLeaf(frontier, size++, hashLeaf(buf.subarray(s, e)));
          expect(tree.size).toBe(size);
          if (rand() < 0.01 || size < 70) {
            expect(hex(tree.frontier)).toEqual(hex(frontier));
            expect(hex([frontierRoot(tree.frontier)])).toEqual(hex([frontierRoot(frontier)]));
          }
        }
        tree.flush(); // what the reader does before it reuses its buffer
        expect(hex(tree.frontier)).toEqual(hex(frontier));
      }
    });

    test("from a frontier set past 2^32, batches append as appendLeaf does; a reset drops nothing noted before it", () => {
      const rand = prng(9);
      for (const start of [1, 6, 2 ** 32 - 3, 2 ** 40 + 77, 2 ** 52 + 3]) {
        const bits = start.toString(2).split("").filter((c) => c === "1").length;
        let frontier = Array.from({ length: bits }, () => hashLeaf(chunk(1, rand).buf));
        const tree = make(start, frontier);
        const { buf, lines } = chunk(300, rand);
        lines.forEach(([s, e], i) => {
          tree.appendLine(buf, s, e);
          frontier = appendLeaf(frontier, start + i, hashLeaf(buf.subarray(s, e)));
        });
        expect(hex(tree.frontier)).toEqual(hex(frontier));
        tree.appendLine(buf, lines[0]![0], lines[0]![1]);
        tree.size = 3; // a resynchronising checkpoint: size first, then frontier
        const reset = [hashLeaf(buf.subarray(1, 5)), hashLeaf(buf.subarray(5, 9))];
        tree.frontier = reset;
        expect(hex(tree.frontier)).toEqual(hex(reset));
        tree.appendLine(buf, lines[1]![0], lines[1]![1]);
        expect(hex(tree.frontier)).toEqual(hex(appendLeaf(reset, 3, hashLeaf(buf.subarray(lines[1]![0], lines[1]![1])))));
      }
    });
  });
}
