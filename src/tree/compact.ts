/**
 * The right-edge frontier of frontier.ts, kept in one buffer for a writer that appends a
 * leaf per record: leaves are read from a buffer of 32-byte hashes (a chunk's leaf hashes,
 * made in one pass) and merged into fixed slots, so appending allocates nothing of its own.
 * The same frontier as appendLeaf gives, leaf for leaf (test/tree/compact.test.ts).
 *
 * appendMany folds a whole chunk of leaves in level by level: at each level the new nodes lie
 * side by side (after the frontier's node of that level, when it has one), so every pair of a
 * level is hashed in one call of a batch hasher (the SHA-NI routine through src/log, which may
 * import ffi/; this layer may not): about log2(n) calls a chunk instead of one per node.
 */
import { half, isOdd } from "./bits.ts";
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
  /** Slot i holds the i-th hash of the frontier (largest subtree first). */
  private readonly slots = new Uint8Array(MAX_LEVELS * HASH_SIZE);
  private count = 0;
  /** 0x01 ‖ left ‖ right: the input of one node hash, reused. */
  private readonly input = new Uint8Array(1 + 2 * HASH_SIZE);
  private readonly node: Uint8Array;
  private readonly left: Uint8Array;
  /** appendMany's scratch: the frontier by level, which levels have a node, a level's nodes. */
  private readonly level = new Uint8Array(MAX_LEVELS * HASH_SIZE);
  private readonly has = new Uint8Array(MAX_LEVELS);
  private work = new Uint8Array(0);

  constructor(frontier: readonly Hash[] = [], public size = 0) {
    for (const h of frontier) this.slots.set(h, HASH_SIZE * this.count++);
    this.input[0] = NODE_HASH_PREFIX;
    this.left = this.input.subarray(1, 1 + HASH_SIZE);
    this.node = this.input.subarray(1 + HASH_SIZE);
  }

  /** Appends the leaf hash at leaves[offset : offset + 32]. */
  append(leaves: Uint8Array, offset = 0): void {
    const slots = this.slots, input = this.input, node = this.node, left = this.left;
    for (let b = 0; b < HASH_SIZE; b++) node[b] = leaves[offset + b]!;
    for (let s = this.size; isOdd(s); s = half(s)) {
      const at = HASH_SIZE * --this.count;
      for (let b = 0; b < HASH_SIZE; b++) left[b] = slots[at + b]!;
      Bun.SHA256.hash(input, node); // written over its own right half, which was read first
    }
    slots.set(node, HASH_SIZE * this.count++);
    this.size++;
  }

  /**
   * Appends the `count` leaf hashes at leaves[0 : 32 count], hashing the nodes of each level in
   * one call of `nodes`: the frontier and size append() would give leaf by leaf.
   */
  appendMany(leaves: Uint8Array, count: number, nodes: NodeHasher): void {
    const level = this.level, has = this.has;
    // The frontier by level: level k has a node when bit k of the size is set (slots hold the largest first).
    let slot = this.count;
    for (let k = 0, s = this.size; k < MAX_LEVELS; k++, s = half(s)) {
      has[k] = isOdd(s) ? 1 : 0;
      if (has[k]) { slot--; level.set(this.slots.subarray(HASH_SIZE * slot, HASH_SIZE * (slot + 1)), HASH_SIZE * k); }
    }
    if (this.work.length < HASH_SIZE * (count + 1)) this.work = new Uint8Array(HASH_SIZE * (count + 1));
    const work = this.work;
    let input = leaves, n = count; // the new nodes of this level: input[0 : 32n]
    for (let k = 0; n > 0; k++) {
      if (has[k]) { // the frontier's node of this level is the left of the first pair: put it before the new ones
        if (input === work) work.copyWithin(HASH_SIZE, 0, HASH_SIZE * n);
        else work.set(input.subarray(0, HASH_SIZE * n), HASH_SIZE);
        work.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)), 0);
        input = work;
        n++;
        has[k] = 0;
      }
      if (isOdd(n)) { // the last node of this level has no right sibling yet: it stays in the frontier
        level.set(input.subarray(HASH_SIZE * (n - 1), HASH_SIZE * n), HASH_SIZE * k);
        has[k] = 1;
      }
      const pairs = n >> 1;
      if (pairs > 0) nodes(input, 0, pairs, work, 0); // the next level's nodes, in place of this one's
      input = work;
      n = pairs;
    }
    this.count = 0;
    for (let k = MAX_LEVELS - 1; k >= 0; k--) if (has[k]) this.slots.set(level.subarray(HASH_SIZE * k, HASH_SIZE * (k + 1)), HASH_SIZE * this.count++);
    this.size += count;
  }

  /** The frontier as hashes (copies), largest subtree first. */
  hashes(): Hash[] {
    return Array.from({ length: this.count }, (_, i) => this.slots.slice(HASH_SIZE * i, HASH_SIZE * (i + 1)));
  }

  /** The frontier's hashes in base64, largest subtree first: hashes().map(base64) without the copies. */
  hashesBase64(): string[] {
    const out: string[] = new Array(this.count);
    const b = Buffer.from(this.slots.buffer, this.slots.byteOffset, this.slots.byteLength);
    for (let i = 0; i < this.count; i++) out[i] = b.toString("base64", HASH_SIZE * i, HASH_SIZE * (i + 1));
    return out;
  }

  /** MTH of the whole tree (RFC 9162 §2.1.1): the frontier folded from its smallest subtree, in the node scratch. */
  root(): Hash {
    if (this.count === 0) return EMPTY_ROOT;
    const slots = this.slots, input = this.input, node = this.node, left = this.left;
    node.set(slots.subarray(HASH_SIZE * (this.count - 1), HASH_SIZE * this.count));
    for (let i = this.count - 2; i >= 0; i--) {
      left.set(slots.subarray(HASH_SIZE * i, HASH_SIZE * (i + 1)));
      Bun.SHA256.hash(input, node); // written over its own right half, which was read first
    }
    return node.slice();
  }
}
