/**
 * The verifier's running tree, appended to once per line without allocating: the frontier
 * (src/tree/frontier.ts) kept flat, one 65-byte block per level laid out as the inner-node
 * hash input [0x01 | left | right]. Hashing is about 7 SHA-256 blocks per line and most of
 * verify's time, so it takes one of two paths with the same results:
 *
 *  - native (ffi/sha256.ts, SHA-NI): appendLine only notes the line's span; the lines are
 *    hashed and folded into the frontier in one batch, two lines at a time, when the frontier
 *    or size is next needed, when the batch is full, or when the caller's buffer changes
 *    (`flush`). The caller must not change a noted line's bytes before then: the reader
 *    (read.ts) flushes before it reuses its buffer.
 *  - portable (Bun.SHA256, where the library cannot run): a leaf is hashed straight into its
 *    level-0 slot; when it is a right child, the block is hashed into the next level's slot,
 *    and so on up.
 *
 * `frontier` reads and writes the same state as a Hash[] (largest subtree first, exactly
 * appendLeaf's), for the checkpoints and segment headers that compare or reset it. The
 * tests pin both paths against src/tree (test/verify/stream-tree.test.ts, native*.test.ts).
 */
import { hashPath, nativeSha256, type Sha256Library } from "../../ffi/sha256.ts";
import { NODE_HASH_PREFIX, LEAF_HASH_PREFIX, type Hash } from "../tree/index.ts";

/**
 * Leaf hashes made ahead of time for one buffer's lines (by the hash worker, hash-worker-pool.ts):
 * spans in line order, `cursor` the first not yet used; `ready()` waits until `hashes` and `pairs`
 * hold them. When the tree's size before line c has the parity of c + align, the source's pairs
 * from there on are the tree's level-1 nodes, so flush() starts its fold one level up.
 */
export interface LeafSource {
  buf: Uint8Array;
  spans: Uint32Array;
  hashes: Uint8Array;
  /** pairs[32i..]: the node over leaves align+2i and align+2i+1. */
  pairs: Uint8Array;
  align: number;
  count: number;
  cursor: number;
  ready(): void;
}

let source: LeafSource | undefined;

/** The reader's chunk whose leaves are hashed elsewhere (undefined when there is none): flush() takes them from it. */
export function provideLeaves(s: LeafSource | undefined): void {
  source = s;
}

const LEVELS = 53; // a tree size is a safe integer: at most 53 set bits
const BLOCK = 65;
/** Lines per native batch: 4096 x 280 bytes is about a reader chunk; the scratch is 2 x 128 KiB. */
const BATCH = 4096;

export class StreamTree {
  #size: number;
  private readonly blocks = new Uint8Array(LEVELS * BLOCK);
  private readonly node: Uint8Array[] = [];
  private readonly left: Uint8Array[] = [];
  private readonly right: Uint8Array[] = [];
  private readonly lib: Sha256Library | undefined;
  /** The noted lines (native path): spans into `pendingBuf`, hashed at the next flush. */
  private pending = 0;
  private pendingBuf: Uint8Array | undefined;
  private readonly spans: Uint32Array;
  /** Two level buffers for the fold, each with one hash of room before the level's items. */
  private readonly work: [Uint8Array, Uint8Array];

  constructor(size = 0, frontier: readonly Hash[] = [], lib: Sha256Library | undefined = nativeSha256()) {
    for (let k = 0; k < LEVELS; k++) {
      this.blocks[k * BLOCK] = NODE_HASH_PREFIX;
      this.node.push(this.blocks.subarray(k * BLOCK, k * BLOCK + BLOCK));
      this.left.push(this.blocks.subarray(k * BLOCK + 1, k * BLOCK + 33));
      this.right.push(this.blocks.subarray(k * BLOCK + 33, k * BLOCK + BLOCK));
    }
    this.lib = lib;
    this.spans = new Uint32Array(lib ? 2 * BATCH : 0);
    this.work = lib ? [new Uint8Array(32 * (BATCH + 1)), new Uint8Array(32 * (BATCH + 1))] : [new Uint8Array(0), new Uint8Array(0)];
    this.#size = size;
    this.frontier = frontier;
  }

  /** Leaves so far (noted lines included). Set it before `frontier` when resetting both (the frontier's shape follows the size). */
  get size(): number {
    return this.#size;
  }

  set size(n: number) {
    this.flush();
    this.#size = n;
  }

  /** Which hasher this tree uses (for tests and `ato version`). */
  get hashPath(): "sha-ni" | "bun" {
    return this.lib ? "sha-ni" : "bun";
  }

  /**
   * Appends the leaf SHA-256(0x00 || buf[start:end]); start >= 1. The portable path uses the
   * byte at start-1 (free, see src/log/lines.ts) for the prefix and restores it; the native
   * path only reads it, later (see the module comment).
   */
  appendLine(buf: Uint8Array, start: number, end: number): void {
    if (this.lib !== undefined) {
      if (buf !== this.pendingBuf || this.pending === BATCH) {
        this.flush();
        this.pendingBuf = buf;
      }
      const p = 2 * this.pending++;
      this.spans[p] = start;
      this.spans[p + 1] = end - start;
      this.#size++;
      return;
    }
    const saved = buf[start - 1]!;
    buf[start - 1] = LEAF_HASH_PREFIX;
    let s = this.#size;
    let k = 0;
    // A view made directly, not with subarray (which looks up the species constructor: ~20 ns a line).
    Bun.SHA256.hash(new Uint8Array(buf.buffer, buf.byteOffset + start - 1, end - start + 1), s % 2 === 0 ? this.left[0]! : this.right[0]!);
    buf[start - 1] = saved;
    while (s % 2 === 1) {
      s = (s - 1) / 2;
      Bun.SHA256.hash(this.node[k]!, s % 2 === 0 ? this.left[k + 1]! : this.right[k + 1]!);
      k++;
    }
    this.#size++;
  }

  /**
   * Hashes the noted lines and folds them in, level by level: at level k the items are the
   * frontier's node there (when the size before had bit k set) followed by the new nodes;
   * pairs become level k+1's items, and an odd last item is the new frontier node at level k.
   */
  flush(): void {
    const n = this.pending;
    if (n === 0) return;
    const lib = this.lib!;
    this.pending = 0;
    let [src, dst] = this.work;
    let s = this.#size - n; // the size before these lines, shifted right by k
    let count = n;
    let k = 0;
    const c = source !== undefined && source.buf === this.pendingBuf ? match(source, this.spans, n) : -1;
    if (c < 0) lib.leaves(this.pendingBuf!, this.spans, n, src, 32);
    else if (s % 2 !== (c + source!.align) % 2) take(source!, c, n, src);
    else {
      // The source's pairs are this tree's level-1 nodes: level 0 is done but for its ends.
      source!.ready();
      const leaves = source!.hashes;
      let first = c;
      let at = 32;
      if (s % 2 === 1) {
        src.set(this.left[0]!, 0);
        src.set(leaves.subarray(32 * c, 32 * c + 32), 32);
        lib.nodes(src, 0, 1, dst, 32);
        first++;
        at = 64;
      }
      const pairs = (c + n - first - ((c + n - first) % 2)) / 2;
      const p = 16 * (first - source!.align); // first - align is even: the pair that starts at line first
      dst.set(source!.pairs.subarray(p, p + 32 * pairs), at);
      if ((c + n - first) % 2 === 1) this.left[0]!.set(leaves.subarray(32 * (c + n - 1), 32 * (c + n)));
      source!.cursor = c + n;
      [src, dst] = [dst, src];
      count = (at - 32) / 32 + pairs;
      s = Math.floor(s / 2);
      k = 1;
    }
    for (; count > 0; k++) {
      let off = 32;
      if (s % 2 === 1) {
        off = 0;
        src.set(this.left[k]!, 0);
        count++;
      }
      if (count % 2 === 1) this.left[k]!.set(src.subarray(off + 32 * (count - 1), off + 32 * count));
      const pairs = (count - (count % 2)) / 2;
      lib.nodes(src, off, pairs, dst, 32);
      [src, dst] = [dst, src];
      count = pairs;
      s = Math.floor(s / 2);
    }
  }

  /** The frontier as appendLeaf keeps it: one hash per set bit of size, the highest bit first. */
  get frontier(): Hash[] {
    this.flush();
    const out: Hash[] = [];
    for (let k = LEVELS - 1; k >= 0; k--) if (bit(this.#size, k)) out.push(this.left[k]!.slice());
    return out;
  }

  /** Loads a frontier for the current size (hashes beyond the set bits are ignored; fitsSize is the caller's check). */
  set frontier(f: readonly Hash[]) {
    this.flush();
    let i = 0;
    for (let k = LEVELS - 1; k >= 0 && i < f.length; k--) if (bit(this.#size, k)) this.left[k]!.set(f[i++]!);
  }
}

/** The hasher verify's tree uses here, for `ato version`: "sha-ni", or "bun (why the native one cannot run)". */
export function verifyHashPath(): string {
  const p = hashPath();
  return p.path === "sha-ni" ? "sha-ni" : `bun (${p.why})`;
}

/** Where the n noted spans start in the source, when it has exactly those lines in order; else -1. */
function match(src: LeafSource, spans: Uint32Array, n: number): number {
  const sp = src.spans;
  let c = src.cursor;
  while (c < src.count && sp[2 * c]! < spans[0]!) c++;
  if (c + n > src.count) return -1;
  for (let i = 0; i < 2 * n; i++) if (sp[2 * c + i] !== spans[i]) return -1;
  return c;
}

/** Copies the source's leaves c..c+n into out (after one hash of room), as lib.leaves would write them. */
function take(src: LeafSource, c: number, n: number, out: Uint8Array): void {
  src.ready();
  out.set(src.hashes.subarray(32 * c, 32 * (c + n)), 32);
  src.cursor = c + n;
}

function bit(n: number, k: number): boolean {
  return Math.floor(n / 2 ** k) % 2 === 1;
}
