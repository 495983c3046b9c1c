/**
 * The right-edge frontier of frontier.ts, kept in one buffer for a writer that appends a
 * leaf per record: leaves are read from a buffer of 32-byte hashes (a chunk's leaf hashes,
 * made in one pass) and merged into fixed slots, so appending allocates nothing of its own.
 * The same frontier as appendLeaf gives, leaf for leaf (test/tree/compact.test.ts).
 */
import { half, isOdd } from "./bits.ts";
import { EMPTY_ROOT, HASH_SIZE, NODE_HASH_PREFIX, hashChildren, type Hash } from "./hash.ts";

/** A frontier has one hash per set bit of the size: 53 bits cover every safe integer. */
const MAX_LEVELS = 53;

export class CompactFrontier {
  /** Slot i holds the i-th hash of the frontier (largest subtree first). */
  private readonly slots = new Uint8Array(MAX_LEVELS * HASH_SIZE);
  private count = 0;
  /** 0x01 ‖ left ‖ right: the input of one node hash, reused. */
  private readonly input = new Uint8Array(1 + 2 * HASH_SIZE);
  private readonly node: Uint8Array;
  private readonly left: Uint8Array;

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

  /** The frontier as hashes (copies), largest subtree first. */
  hashes(): Hash[] {
    return Array.from({ length: this.count }, (_, i) => this.slots.slice(HASH_SIZE * i, HASH_SIZE * (i + 1)));
  }

  /** MTH of the whole tree (RFC 9162 §2.1.1). */
  root(): Hash {
    if (this.count === 0) return EMPTY_ROOT;
    let root: Hash = this.slots.slice(HASH_SIZE * (this.count - 1), HASH_SIZE * this.count);
    for (let i = this.count - 2; i >= 0; i--) root = hashChildren(this.slots.subarray(HASH_SIZE * i, HASH_SIZE * (i + 1)), root);
    return root;
  }
}
