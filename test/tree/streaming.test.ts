/**
 * The streaming tree (frontier, span hashers) agrees with the RFC's recursive definitions
 * for every size and index up to 70, including proofs built from a segment that starts
 * mid-tree and only knows the frontier at its start.
 */
import { describe, expect, test } from "bun:test";
import { appendLeaf, frontierRoot, frontierSpans, hashLeaf, inclusionSpans, SpanHasher, verifyConsistency, verifyInclusion, type Frontier, type Hash } from "../../src/tree/index.ts";
import { consistencyProof, mth, path } from "./reference.ts";

const N = 70;
const leaves: Hash[] = Array.from({ length: N }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
const frontiers: Frontier[] = [[]];
for (let i = 0; i < N; i++) frontiers.push(appendLeaf(frontiers[i]!, i, leaves[i]!));

/** Builds PATH(m, D[n]) the way `ato verify --export-proof` does: one pass, from leaf `from` on. */
function streamedPath(m: number, n: number, from: number): Hash[] {
  const hashers = inclusionSpans(m, n).map((s) => new SpanHasher(s));
  for (const hsh of hashers) hsh.seed(frontiers[from]!, from);
  for (let i = from; i < n; i++) hashers.find((x) => i >= x.span.start && i < x.span.end && !x.complete)?.add(i, leaves[i]!);
  return hashers.map((x) => x.root());
}

describe("streaming tree", () => {
  test("frontier root equals MTH for every size", () => {
    for (let n = 0; n <= N; n++) expect(frontierRoot(frontiers[n]!)).toEqual(mth(leaves.slice(0, n)));
  });

  test("frontier spans tile [0, size) with one perfect subtree per set bit", () => {
    for (let n = 1; n <= N; n++) {
      const spans = frontierSpans(n);
      expect(spans.length).toBe(frontiers[n]!.length);
      expect(spans.reduce((a, s) => a + s.width, 0)).toBe(n);
      spans.forEach((s, i) => expect(frontiers[n]![i]).toEqual(mth(leaves.slice(s.start, s.start + s.width))));
    }
  });

  test("streamed inclusion proofs equal PATH(m, D[n]) and verify, from any segment start", () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m < n; m++) {
        const want = path(m, leaves.slice(0, n));
        for (const from of new Set([0, m, Math.floor(m / 2), Math.max(0, m - 3)])) {
          expect(streamedPath(m, n, from)).toEqual(want);
        }
        verifyInclusion(m, n, leaves[m]!, want, frontierRoot(frontiers[n]!));
      }
    }
  });

  test("consistency proofs of the reference verify for every pair of sizes", () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(leaves.slice(0, n)), m === n ? [] : consistencyProof(m, leaves.slice(0, n)));
      }
    }
  });
});
