/**
 * A direct, slow transcription of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 over an in-memory
 * list of leaf hashes: the yardstick for the streaming code in src/tree.
 */
import { largestPowerOfTwoBelow as k } from "../../src/tree/bits.ts";
import { EMPTY_ROOT, hashChildren, type Hash } from "../../src/tree/hash.ts";

export function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  const split = k(leaves.length);
  return hashChildren(mth(leaves.slice(0, split)), mth(leaves.slice(split)));
}

/** PATH(m, D[n]) of §2.1.3.1. */
export function path(m: number, leaves: Hash[]): Hash[] {
  if (leaves.length <= 1) return [];
  const split = k(leaves.length);
  if (m < split) return [...path(m, leaves.slice(0, split)), mth(leaves.slice(split))];
  return [...path(m - split, leaves.slice(split)), mth(leaves.slice(0, split))];
}

/** PROOF(m, D[n]) of §2.1.4.1, through SUBPROOF(m, D[n], true). */
export function consistencyProof(m: number, leaves: Hash[]): Hash[] {
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: Hash[], complete: boolean): Hash[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [mth(leaves)];
  const split = k(n);
  if (m <= split) return [...subproof(m, leaves.slice(0, split), complete), mth(leaves.slice(split))];
  return [...subproof(m - split, leaves.slice(split), false), mth(leaves.slice(0, split))];
}
