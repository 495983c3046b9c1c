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
import { BASE_MOD, levelLayout, type Levels } from "./subtrees.ts";

/**
 * Leaf hashes made ahead of time for one buffer's lines (by the hash worker, hash-worker-pool.ts):
 * spans in line order, `cursor` the first not yet used; `ready()` waits until `hashes` and `levels`
 * hold them. `levels` holds every level of the complete subtrees over them laid out by
 * levelLayout(count, base) (subtrees.ts): those are the tree's nodes up to level j when the tree's
 * size before line c is c + base modulo 2^j, and flush() then merges their roots instead of folding.
 */
export interface LeafSource {
  buf: Uint8Array;
  spans: Uint32Array;
  hashes: Uint8Array;
  levels: Uint8Array;
  /** The predicted tree size at line 0, modulo BASE_MOD. */
  base: number;
  count: number;
  cursor: number;
  ready(): void;
  /** levelLayout(count, base), made at the first use. */
  layout?: Levels;
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
/** Below this many aligned levels flush folds itself (merging subtrees of at most 2^k leaves one by one would cost more calls). */
const MERGE_MIN_LEVELS = 6;

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
  /** One node hashed while merging a subtree's root into the frontier. */
  private readonly one = new Uint8Array(32);

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
    const c = source !== undefined && source.buf === this.pendingBuf ? match(source, this.spans, n) : -1;
    const aligned = c < 0 ? 0 : alignedLevels(source!, s - c);
    if (c < 0) lib.leaves(this.pendingBuf!, this.spans, n, src, 32);
    else if (aligned >= MERGE_MIN_LEVELS) return this.merge(source!, c, n, s, aligned);
    else take(source!, c, n, src); // fewer aligned levels than pay for a merge: from the leaves, as without a worker
    for (let k = 0; count > 0; k++) {
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

  /**
   * Lines c..c+n of the source, the tree's leaves s..s+n, whose subtrees up to level `top` are the
   * source's: splits the range into the largest aligned subtrees (at most ~2 per level) and merges
   * each root into the frontier as appendLeaf would merge a leaf, starting at its level.
   */
  private merge(src: LeafSource, c: number, n: number, s: number, top: number): void {
    src.ready();
    const lay = (src.layout ??= levelLayout(src.count, src.base));
    const end = s + n;
    for (let p = s; p < end; ) {
      let h = 0;
      while (h < top && p % 2 ** (h + 1) === 0 && p + 2 ** (h + 1) <= end) h++;
      const q = c + (p - s); // the subtree's first line; q - first(h) is a multiple of 2^h (h <= top)
      if (h === 0) this.mergeRoot(0, p, src.hashes, 32 * q);
      else this.mergeRoot(h, p, src.levels, lay.start[h]! + 32 * ((q - lay.first[h]!) / 2 ** h));
      p += 2 ** h;
    }
    src.cursor = c + n;
  }

  /** Adds the root of a complete subtree at level h (from[at..at+32]) whose first leaf is p, the size before it. */
  private mergeRoot(h: number, p: number, from: Uint8Array, at: number): void {
    let v = Math.floor(p / 2 ** h);
    let k = h;
    let cur = from.subarray(at, at + 32);
    for (; v % 2 === 1; k++, v = (v - 1) / 2) {
      this.right[k]!.set(cur);
      this.lib!.nodes(this.blocks, k * BLOCK + 1, 1, this.one, 0);
      cur = this.one;
    }
    this.left[k]!.set(cur);
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

/** How many levels of the source's subtrees are the tree's, when its line 0 is at tree size `offset`. */
function alignedLevels(src: LeafSource, offset: number): number {
  let d = (((offset - src.base) % BASE_MOD) + BASE_MOD) % BASE_MOD;
  const lay = (src.layout ??= levelLayout(src.count, src.base));
  const top = lay.len.length - 1;
  if (d === 0) return top;
  let j = 0;
  for (; d % 2 === 0 && j < top; j++) d /= 2;
  return j;
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
