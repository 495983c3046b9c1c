/**
 * Consistency proofs, RFC 9162 §2.1.4: that the tree of `size1` leaves is a prefix of the
 * tree of `size2`. `rootsFromConsistencyProof` is §2.1.4.2 up to the final comparisons;
 * `verifyConsistency` adds them. Malformed input is CORRUPT, a mismatch TAMPERED.
 */
import { AtoError } from "../errors.ts";
import { assertSize, half, isOdd, isPowerOfTwo } from "./bits.ts";
import { equalHashes, hashChildren, type Hash } from "./hash.ts";
import { checkHashes } from "./inclusion.ts";
import { hex } from "./encoding.ts";

/** The two roots the proof commits to, for 0 < size1 < size2 (§2.1.4.2 steps 1–7). */
export function rootsFromConsistencyProof(size1: number, size2: number, root1: Hash, proof: readonly Hash[]): { root1: Hash; root2: Hash } {
  if (proof.length === 0) throw new AtoError(`consistency proof from ${size1} to ${size2} is empty`, "CORRUPT");
  // Step 1: when size1 is a power of two, the old root is itself the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 3: drop the levels where the old tree's last node is a right child.
  while (isOdd(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new AtoError(`consistency proof from ${size1} to ${size2} is too long`, "CORRUPT");
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = hashChildren(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  if (sn !== 0) throw new AtoError(`consistency proof from ${size1} to ${size2} is too short`, "CORRUPT");
  return { root1: fr, root2: sr };
}

export function verifyConsistency(size1: number, size2: number, root1: Hash, root2: Hash, proof: readonly Hash[]): void {
  assertSize("size1", size1);
  assertSize("size2", size2);
  checkHashes(root1, root2, proof);
  if (size1 > size2) throw new AtoError(`tree size ${size1} cannot be a prefix of the smaller size ${size2}`, "CORRUPT");
  if (size1 === size2 || size1 === 0) {
    // Equal trees need no proof; every tree extends the empty one (§2.1.4.1).
    if (proof.length > 0) throw new AtoError(`consistency proof from ${size1} to ${size2} must be empty`, "CORRUPT");
    if (size1 === size2 && !equalHashes(root1, root2)) throw mismatch("the roots of two trees of the same size differ", root1, root2);
    return;
  }
  const got = rootsFromConsistencyProof(size1, size2, root1, proof);
  if (!equalHashes(got.root1, root1)) throw mismatch(`proof does not lead to the tree of ${size1}`, got.root1, root1);
  if (!equalHashes(got.root2, root2)) throw mismatch(`proof does not lead to the tree of ${size2}`, got.root2, root2);
}

function mismatch(what: string, got: Hash, want: Hash): AtoError {
  return new AtoError(`${what}: computed ${hex(got)}, expected ${hex(want)}`, "TAMPERED");
}
