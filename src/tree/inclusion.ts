/**
 * Inclusion proofs, RFC 9162 §2.1.3. `rootFromInclusionProof` is the verification algorithm
 * of §2.1.3.2 up to the last step; `verifyInclusion` adds the one comparison.
 * A malformed proof is an AtoError("CORRUPT"); a proof that leads elsewhere is "TAMPERED".
 */
import { AtoError } from "../errors.ts";
import { assertSize, half, isOdd } from "./bits.ts";
import { equalHashes, hashChildren, isHash, type Hash } from "./hash.ts";
import { hex } from "./encoding.ts";

export function rootFromInclusionProof(index: number, size: number, leafHash: Hash, proof: readonly Hash[]): Hash {
  assertSize("index", index);
  assertSize("size", size);
  if (index >= size) throw new AtoError(`leaf index ${index} is outside a tree of ${size} leaves`, "CORRUPT");
  checkHashes(leafHash, proof);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new AtoError(`inclusion proof is too long: ${proof.length} hashes for leaf ${index} of ${size}`, "CORRUPT");
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      // §2.1.3.2 step 3: skip the levels where this node is a left child with no right sibling.
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = hashChildren(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  if (sn !== 0) throw new AtoError(`inclusion proof is too short: ${proof.length} hashes for leaf ${index} of ${size}`, "CORRUPT");
  return r;
}

export function verifyInclusion(index: number, size: number, leafHash: Hash, proof: readonly Hash[], root: Hash): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalHashes(computed, root)) {
    throw new AtoError(`inclusion proof leads to root ${hex(computed)}, expected ${hex(root)}`, "TAMPERED");
  }
}

export function checkHashes(...hashes: (Hash | readonly Hash[])[]): void {
  for (const h of hashes.flat()) {
    if (!isHash(h)) throw new AtoError(`expected 32-byte SHA-256 hashes; found one of ${(h as Uint8Array)?.length ?? "no"} bytes`, "CORRUPT");
  }
}
