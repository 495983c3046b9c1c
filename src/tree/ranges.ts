/**
 * Building an inclusion proof while streaming the leaves once, with O(log n) state.
 *
 * RFC 9162 §2.1.3.1 defines PATH(m, D[n]) recursively: split at k (the largest power of two
 * below n), recurse into the half holding leaf m, and append the MTH of the other half.
 * `inclusionSpans` lists those other halves as leaf ranges, deepest first (the proof's
 * order). The ranges are disjoint, so each leaf feeds at most one `SpanHasher`.
 */
import { AtoError } from "../errors.ts";
import { assertSize, largestPowerOfTwoBelow } from "./bits.ts";
import { appendLeaf, frontierRoot, frontierSpans, type Frontier } from "./frontier.ts";
import type { Hash } from "./hash.ts";

export interface Span {
  start: number;
  end: number;
}

export function inclusionSpans(index: number, size: number): Span[] {
  assertSize("index", index);
  if (index >= size) throw new AtoError(`leaf index ${index} is outside a tree of ${size} leaves`, "CORRUPT");
  const spans: Span[] = [];
  let [lo, hi] = [0, size];
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      spans.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      spans.push({ start: lo, end: lo + k });
      lo += k;
    }
  }
  return spans.reverse();
}

/** MTH(D[start:end]) accumulated leaf by leaf (a frontier relative to `start`). */
export class SpanHasher {
  private frontier: Hash[] = [];
  private count = 0;

  constructor(readonly span: Span) {}

  /**
   * Starts from the hashes of a tree frontier covering [0, treeSize), for when the leaves
   * before `treeSize` are not at hand (a segment verified on its own). Only the frontier
   * nodes inside the span are used; they must tile [span.start, treeSize) exactly.
   */
  seed(treeFrontier: Frontier, treeSize: number): void {
    if (treeSize <= this.span.start) return;
    frontierSpans(treeSize).forEach((s, i) => {
      if (s.start + s.width <= this.span.start || s.start >= this.span.end) return;
      if (s.start < this.span.start || s.start + s.width > this.span.end) throw this.untileable(treeSize);
      if (s.start !== this.span.start + this.count || this.count % s.width !== 0) throw this.untileable(treeSize);
      this.frontier.push(treeFrontier[i]!);
      this.count += s.width;
    });
  }

  add(leafIndex: number, leafHash: Hash): void {
    if (leafIndex !== this.span.start + this.count) {
      throw new AtoError(`span [${this.span.start}, ${this.span.end}) expected leaf ${this.span.start + this.count}, got ${leafIndex}`, "INTERNAL");
    }
    this.frontier = appendLeaf(this.frontier, this.count++, leafHash);
  }

  get complete(): boolean {
    return this.span.start + this.count === this.span.end;
  }

  root(): Hash {
    if (!this.complete) throw new AtoError(`span [${this.span.start}, ${this.span.end}) has only ${this.count} leaves`, "INTERNAL");
    return frontierRoot(this.frontier);
  }

  private untileable(treeSize: number): AtoError {
    return new AtoError(`the frontier of ${treeSize} leaves does not tile span [${this.span.start}, ${this.span.end})`, "INTERNAL");
  }
}
