/**
 * Consistency proofs for the submitter, RFC 9162 §2.1.4.1 (SUBPROOF), from what the agent has:
 * the frontier of the old tree (one hash per perfect subtree of [0, m), as checkpoint lines
 * record it) and the leaf hashes of [m, n). Every node such a proof needs lies wholly in one
 * of the two: nodes inside [0, m) are exactly frontier subtrees (each step that goes right
 * adds the perfect left subtree, and the walk ends on the old tree's last perfect subtree),
 * nodes after m are hashed from the new leaves.
 */
import { AtoError } from "../errors.ts";
import { frontierSpans, hashChildren, type Frontier, type Hash } from "../tree/index.ts";

export function consistencyProof(m: number, n: number, oldFrontier: Frontier, newLeaves: readonly Hash[]): Hash[] {
  if (m < 0 || m > n) throw new AtoError(`no consistency proof from ${m} to ${n}`, "INTERNAL");
  if (m === 0 || m === n) return []; // RFC 9162 §2.1.4.1: nothing to prove, nothing needed
  if (newLeaves.length !== n - m) throw new AtoError(`${newLeaves.length} leaves given for [${m}, ${n})`, "INTERNAL");
  const spans = new Map(frontierSpans(m).map((s, i) => [`${s.start}:${s.width}`, oldFrontier[i]!]));
  const mth = (lo: number, hi: number): Hash => {
    if (hi <= m) {
      const h = spans.get(`${lo}:${hi - lo}`);
      if (!h) throw new AtoError(`the old tree's frontier has no node [${lo}, ${hi})`, "INTERNAL");
      return h;
    }
    if (lo < m) throw new AtoError(`node [${lo}, ${hi}) straddles the old size ${m}`, "INTERNAL");
    return leavesRoot(newLeaves, lo - m, hi - m);
  };
  return subproof(m, 0, n, true, mth);
}

/** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, with m relative to lo. */
function subproof(m: number, lo: number, hi: number, b: boolean, mth: (lo: number, hi: number) => Hash): Hash[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [mth(lo, hi)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...subproof(m, lo, lo + k, b, mth), mth(lo + k, hi)];
  return [...subproof(m - k, lo + k, hi, false, mth), mth(lo, lo + k)];
}

/** MTH of leaves[lo:hi] (RFC 9162 §2.1.1). */
export function leavesRoot(leaves: readonly Hash[], lo: number, hi: number): Hash {
  if (hi - lo === 1) return leaves[lo]!;
  const k = largestPowerOfTwoBelow(hi - lo);
  return hashChildren(leavesRoot(leaves, lo, lo + k), leavesRoot(leaves, lo + k, hi));
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
