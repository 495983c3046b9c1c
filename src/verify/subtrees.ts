/**
 * The complete subtrees of one hash job's leaves that line up with the tree, every level of them:
 * the hash worker (or the verifier's thread, when it takes a job back) folds them with the job's
 * leaves, and StreamTree.flush only merges their roots into the frontier, so the node levels above
 * the leaves are hashed off the verifier's thread.
 *
 * Which nodes are the tree's depends on the tree size at the job's first leaf, predicted as `base`
 * (mod BASE_MOD): at level j the first node starts at leaf first(j) = -base mod 2^j, and node i covers
 * leaves first(j) + i*2^j .. + 2^j - 1. A tree whose real size there differs from base in bit j or
 * below uses only the levels under j (flush checks; a wrong guess costs time, never a hash).
 */
import type { Sha256Library } from "../../ffi/sha256.ts";

/** The prediction is kept modulo this (a job has at most JOB_LINES = 2^13 leaves: 2^20 is plenty). */
export const BASE_MOD = 1 << 20;

/** Level j >= 1: where its nodes start in the job's `levels` buffer (bytes), how many, and the first one's first leaf. */
export interface Levels {
  start: number[];
  len: number[];
  first: number[];
}

/** The layout for `count` leaves predicted to start at tree size `base`; index 0 is the leaves themselves. */
export function levelLayout(count: number, base: number): Levels {
  const out: Levels = { start: [0], len: [count], first: [0] };
  let at = 0;
  for (let j = 1; ; j++) {
    const first = (BASE_MOD - (base % BASE_MOD)) % 2 ** j;
    const skip = (first - out.first[j - 1]!) / 2 ** (j - 1); // 0 or 1 node of the level below
    const len = Math.floor((out.len[j - 1]! - skip) / 2);
    if (len <= 0) return out;
    out.start.push(at);
    out.len.push(len);
    out.first.push(first);
    at += 32 * len;
  }
}

/** Hashes every level of `layout` from the job's leaf hashes into `levels` (what hash-worker.ts does per job). */
export function foldLevels(lib: Sha256Library, hashes: Uint8Array, levels: Uint8Array, layout: Levels): void {
  for (let j = 1; j < layout.len.length; j++) {
    const skip = (layout.first[j]! - layout.first[j - 1]!) / 2 ** (j - 1);
    const below = j === 1 ? hashes : levels;
    const from = j === 1 ? 0 : layout.start[j - 1]!;
    lib.nodes(below, from + 32 * skip, layout.len[j]!, levels, layout.start[j]!);
  }
}
