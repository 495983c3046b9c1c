/**
 * The right-edge frontier of frontier.ts, kept in one buffer for a writer that appends a
 * leaf per record: leaves are read from a buffer of 32-byte hashes (a chunk's leaf hashes,
 * made in one pass) and merged into fixed slots, so appending allocates nothing of its own.
 * The same frontier as appendLeaf gives, leaf for leaf (test/tree/compact.test.ts).
 *
 * The frontier is kept by level: level k holds the root of the perfect subtree of 2^k leaves
 * when bit k of the size is set (the frontier's order, largest first, is only how hashes()
 * gives it). So appending touches only the levels it carries through, with no reordering: the
 * writer's shutdown export appends its chunks in code that has not been compiled yet, where
 * every loop step and call is paid in full.
 *
 * appendMany folds a whole chunk of leaves in level by level: at each level the new nodes lie
 * side by side (after the frontier's node of that level, when it has one), so every pair of a
 * level is hashed in one call of a batch hasher (the SHA-NI routine through src/log, which may
 * import ffi/; this layer may not): about log2(n) calls a chunk instead of one per node.
 */
import { EMPTY_ROOT, HASH_SIZE, NODE_HASH_PREFIX, type Hash } from "./hash.ts";

/** A frontier has one hash per set bit of the size: 53 bits cover every safe integer. */
const MAX_LEVELS = 53;

/** out[outOffset + 32i : +32] = SHA-256(0x01 ‖ input[inOffset + 64i : +64]) for i < count; out may be input at the same place. */
export type NodeHasher = (input: Uint8Array, inOffset: number, count: number, out: Uint8Array, outOffset: number) => void;

/** The portable NodeHasher: Bun.SHA256 per node. */
export const hashNodes: NodeHasher = (input, inOffset, count, out, outOffset) => {
  for (let i = 0; i < count; i++) {
    // The pair is copied out first, so the hash may land where it was read.
    ONE_NODE.set(input.subarray(inOffset + 2 * HASH_SIZE * i, inOffset + 2 * HASH_SIZE * (i + 1)), 1);
    Bun.SHA256.hash(ONE_NODE, out.subarray(outOffset + HASH_SIZE * i, outOffset + HASH_SIZE * (i + 1)));
  }
};
const ONE_NODE = new Uint8Array(1 + 2 * HASH_SIZE);
ONE_NODE[0] = NODE_HASH_PREFIX;

export class CompactFrontier {
  /** level[32k : 32k+32] is the frontier's node of level k, meaningful when bit k of the size is set. Sizes pass 2^32: no bitwise operators on them. */
  private readonly level = new Uint8Array(MAX_LEVELS * HASH_SIZE);
  /** 0x01 ‖ left ‖ right: the input of one node hash, reused. */
  private readonly input = new Uint8Array(1 + 2 * HASH_SIZE);
  private readonly node: Uint8Array;
  private readonly left: Uint8Array;
  /** appendMany's scratch: a level's nodes, after the frontier's node of that level. */
  private work = new Uint8Array(0);

  /** `frontier` as hashes() gives it (largest subtree first), of a tree of `size` leaves. */
  constructor(frontier: readonly Hash[] = [], public size = 0) {
    let i = frontier.length;
    for (let k = 0, s = size; s > 0 && i > 0; k++, s = Math.floor(s / 2)) if (s % 2 === 1) this.level.set(frontier[--i]!, HASH_SIZE * k);
    this.input[0] = NODE_HASH_PREFIX;
    this.left = this.input.subarray(1, 1 + HASH_SIZE);
    this.node = this.input.subarray(1 + HASH_SIZE);
  }

  /** Appends the leaf hash at leaves[offset : offset + 32]. */
  append(leaves: Uint8Array, offset = 0): void {
    const level = this.level, input = this.input, node = this.node, left = this.left;
    node.set(leaves.subarray(offset, offset + HASH_SIZE));
    let k = 0;
    for (let s = this.size; s % 2 === 1; s = Math.floor(s / 2), k++) {
      left.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)));
      Bun.SHA256.hash(input, node); // written over its own right half, which was read first
    }
    level.set(node, HASH_SIZE * k);
    this.size++;
  }

  /**
   * Appends the `count` leaf hashes at leaves[0 : 32 count], hashing the nodes of each level in
   * one call of `nodes`: the frontier and size append() would give leaf by leaf.
   */
  appendMany(leaves: Uint8Array, count: number, nodes: NodeHasher): void {
    const level = this.level;
    if (this.work.length < HASH_SIZE * (count + 1)) this.work = new Uint8Array(HASH_SIZE * (count + 1));
    const work = this.work;
    let input = leaves, n = count; // the new nodes of this level: input[0 : 32n]
    // Up the levels while new nodes come: bit k of s is whether the frontier has a node at level k.
    for (let k = 0, s = this.size; n > 0; k++, s = Math.floor(s / 2)) {
      if (s % 2 === 1) { // the frontier's node of this level is the left of the first pair: put it before the new ones
        if (input === work) work.copyWithin(HASH_SIZE, 0, HASH_SIZE * n);
        else work.set(input.subarray(0, HASH_SIZE * n), HASH_SIZE);
        work.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)));
        input = work;
        n++;
      }
      // The last node of an odd level has no right sibling yet: it is the frontier's node of this level now.
      if (n % 2 === 1) level.set(input.subarray(HASH_SIZE * (n - 1), HASH_SIZE * n), HASH_SIZE * k);
      const pairs = Math.floor(n / 2);
      if (pairs > 0) nodes(input, 0, pairs, work, 0); // the next level's nodes, in place of this one's
      input = work;
      n = pairs;
    }
    this.size += count;
  }

  /** The frontier as hashes (copies), largest subtree first. */
  hashes(): Hash[] {
    const out: Hash[] = [];
    for (let k = 0, s = this.size; s > 0; k++, s = Math.floor(s / 2)) if (s % 2 === 1) out.push(this.level.slice(HASH_SIZE * k, HASH_SIZE * (k + 1)));
    return out.reverse();
  }

  /** The frontier's hashes in base64, largest subtree first: hashes().map(base64) without the copies. */
  hashesBase64(): string[] {
    const out: string[] = [];
    const b = Buffer.from(this.level.buffer, this.level.byteOffset, this.level.byteLength);
    for (let k = 0, s = this.size; s > 0; k++, s = Math.floor(s / 2)) if (s % 2 === 1) out.push(b.toString("base64", HASH_SIZE * k, HASH_SIZE * (k + 1)));
    return out.reverse();
  }

  /** MTH of the whole tree (RFC 9162 §2.1.1): the frontier folded from its smallest subtree, in the node scratch. */
  root(): Hash {
    if (this.size === 0) return EMPTY_ROOT;
    const level = this.level, input = this.input, node = this.node, left = this.left;
    let k = 0, s = this.size;
    for (; s % 2 === 0; s = Math.floor(s / 2)) k++;
    node.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)));
    for (k++, s = Math.floor(s / 2); s > 0; k++, s = Math.floor(s / 2)) {
      if (s % 2 === 0) continue;
      left.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)));
      Bun.SHA256.hash(input, node); // written over its own right half, which was read first
    }
    return node.slice();
  }
}
