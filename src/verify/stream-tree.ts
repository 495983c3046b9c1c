/**
 * The verifier's running tree, appended to once per line without allocating: the frontier
 * (src/tree/frontier.ts) kept flat, one 65-byte block per level laid out as the inner-node
 * hash input [0x01 | left | right]. A leaf is hashed straight into its level-0 slot; when it
 * is a right child, the block is hashed into the next level's slot, and so on up. Hashing
 * is 2 SHA-256 calls per line, and they are most of verify's time: nothing else here copies
 * or makes an array per line.
 *
 * `frontier` reads and writes the same state as a Hash[] (largest subtree first, exactly
 * appendLeaf's), for the checkpoints and segment headers that compare or reset it. The
 * tests pin both against src/tree (test/verify/stream-tree.test.ts).
 */
import { NODE_HASH_PREFIX, LEAF_HASH_PREFIX, type Hash } from "../tree/index.ts";

const LEVELS = 53; // a tree size is a safe integer: at most 53 set bits
const BLOCK = 65;

export class StreamTree {
  /** Leaves so far. Set it before `frontier` when resetting both (the frontier's shape follows the size). */
  size: number;
  private readonly blocks = new Uint8Array(LEVELS * BLOCK);
  private readonly node: Uint8Array[] = [];
  private readonly left: Uint8Array[] = [];
  private readonly right: Uint8Array[] = [];

  constructor(size = 0, frontier: readonly Hash[] = []) {
    for (let k = 0; k < LEVELS; k++) {
      this.blocks[k * BLOCK] = NODE_HASH_PREFIX;
      this.node.push(this.blocks.subarray(k * BLOCK, k * BLOCK + BLOCK));
      this.left.push(this.blocks.subarray(k * BLOCK + 1, k * BLOCK + 33));
      this.right.push(this.blocks.subarray(k * BLOCK + 33, k * BLOCK + BLOCK));
    }
    this.size = size;
    this.frontier = frontier;
  }

  /**
   * Appends the leaf SHA-256(0x00 || buf[start:end]), using the byte at start-1 (free, see
   * src/log/lines.ts) for the prefix and restoring it.
   */
  appendLine(buf: Uint8Array, start: number, end: number): void {
    const saved = buf[start - 1]!;
    buf[start - 1] = LEAF_HASH_PREFIX;
    let s = this.size;
    let k = 0;
    // A view made directly, not with subarray (which looks up the species constructor: ~20 ns a line).
    Bun.SHA256.hash(new Uint8Array(buf.buffer, buf.byteOffset + start - 1, end - start + 1), s % 2 === 0 ? this.left[0]! : this.right[0]!);
    buf[start - 1] = saved;
    while (s % 2 === 1) {
      s = (s - 1) / 2;
      Bun.SHA256.hash(this.node[k]!, s % 2 === 0 ? this.left[k + 1]! : this.right[k + 1]!);
      k++;
    }
    this.size++;
  }

  /** The frontier as appendLeaf keeps it: one hash per set bit of size, the highest bit first. */
  get frontier(): Hash[] {
    const out: Hash[] = [];
    for (let k = LEVELS - 1; k >= 0; k--) if (bit(this.size, k)) out.push(this.left[k]!.slice());
    return out;
  }

  /** Loads a frontier for the current size (hashes beyond the set bits are ignored; fitsSize is the caller's check). */
  set frontier(f: readonly Hash[]) {
    let i = 0;
    for (let k = LEVELS - 1; k >= 0 && i < f.length; k--) if (bit(this.size, k)) this.left[k]!.set(f[i++]!);
  }
}

function bit(n: number, k: number): boolean {
  return Math.floor(n / 2 ** k) % 2 === 1;
}
