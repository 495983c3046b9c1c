/**
 * The right-edge frontier of an append-only tree: the roots of the perfect subtrees a tree
 * of `size` leaves splits into, one per set bit of `size`, largest (leftmost) first. It is
 * the compact range [0, size) of transparency-dev/merkle's docs/compact_ranges.md: O(log n)
 * hashes are enough to append the next leaf and to compute the root, so the log writer and
 * `ato verify` both stream without keeping the tree.
 *
 * The shape follows RFC 9162 §2.1.1: MTH(D[n]) splits at k, the largest power of two below
 * n, so the left part is always a perfect subtree and the frontier folded from the right
 * is exactly MTH.
 */
import { half, isOdd, popcount } from "./bits.ts";
import { EMPTY_ROOT, hashChildren, type Hash } from "./hash.ts";

export type Frontier = readonly Hash[];

export const EMPTY_FRONTIER: Frontier = [];

/**
 * The frontier of `size + 1` leaves, given the frontier of `size` and the next leaf hash.
 * Each trailing set bit of `size` is a perfect subtree the new leaf completes and merges with.
 */
export function appendLeaf(frontier: Frontier, size: number, leafHash: Hash): Hash[] {
  const out = frontier.slice();
  let node = leafHash;
  for (let s = size; isOdd(s); s = half(s)) node = hashChildren(out.pop()!, node);
  out.push(node);
  return out;
}

/** MTH of the whole tree: the frontier folded right to left (RFC 9162 §2.1.1). */
export function frontierRoot(frontier: Frontier): Hash {
  if (frontier.length === 0) return EMPTY_ROOT;
  let root = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) root = hashChildren(frontier[i]!, root);
  return root;
}

/** True when the frontier has the one hash per set bit that a tree of `size` needs. */
export function fitsSize(frontier: Frontier, size: number): boolean {
  return frontier.length === popcount(size);
}

/** Which leaves each frontier hash covers: [start, start + width), in frontier order. */
export function frontierSpans(size: number): { start: number; width: number }[] {
  const spans: { start: number; width: number }[] = [];
  let start = 0;
  for (let width = 2 ** Math.floor(Math.log2(Math.max(size, 1))); width >= 1; width /= 2) {
    if (size - start >= width) {
      spans.push({ start, width });
      start += width;
    }
  }
  return spans;
}
