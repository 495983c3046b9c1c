/**
 * The hashing of RFC 9162 §2.1.1 (unchanged from RFC 6962 §2.1): a leaf and an inner node
 * are hashed with different one-byte prefixes, so that no leaf can pass for a node
 * (the second-preimage defence of RFC 9162 §2.1.1, last paragraph).
 */

/** A SHA-256 digest: 32 bytes. */
export type Hash = Uint8Array;

export const HASH_SIZE = 32;

/** Prefix of a leaf's hash input: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export const LEAF_HASH_PREFIX = 0x00;

/** Prefix of an inner node's hash input: SHA-256(0x01 || MTH(left) || MTH(right)). */
export const NODE_HASH_PREFIX = 0x01;

/**
 * SHA-256 of `data`. Bun's one-shot hasher is the fastest of the hashers Bun offers for the
 * short inputs a log is made of (about 0.2 µs for a 200-byte line, against 0.4 µs for
 * node:crypto and 2 µs for @noble/hashes), and it runs on the CPU's SHA extensions.
 */
export function sha256(data: Uint8Array): Hash {
  return Bun.SHA256.hash(data) as Uint8Array;
}

/** The hash of the empty tree: MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

export function hashLeaf(data: Uint8Array): Hash {
  const input = new Uint8Array(data.length + 1);
  input[0] = LEAF_HASH_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);

export function hashChildren(left: Hash, right: Hash): Hash {
  nodeInput[0] = NODE_HASH_PREFIX;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function isHash(h: unknown): h is Hash {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}
