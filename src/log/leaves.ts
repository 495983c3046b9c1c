/**
 * The leaf hashes of a chunk's lines in one pass over the buffer they were encoded into:
 * out[32i : 32i+32] = SHA-256(0x00 ‖ buf[spans[2i] : spans[2i] + spans[2i+1]]), the byte before
 * each line (its predecessor's newline, or a spare byte) standing in for the prefix and put
 * back. One call per chunk, so a batch hasher (SHA-NI, two lines at a time) can take the place
 * of Bun.SHA256 per line here with the same contract.
 */
import { nativeSha256 } from "../../ffi/sha256.ts";
import { HASH_SIZE, LEAF_HASH_PREFIX, hashNodes, type NodeHasher } from "../tree/index.ts";

const scratch = new Uint8Array(HASH_SIZE);

export function hashLeaves(buf: Uint8Array, spans: Uint32Array, count: number, out: Uint8Array): void {
  // The SHA-NI batch routine (the one verify uses) when this CPU and build have it; it never writes buf.
  const native = nativeSha256();
  if (native) return native.leaves(buf, spans, count, out);
  for (let i = 0; i < count; i++) {
    const start = spans[2 * i]!, length = spans[2 * i + 1]!;
    const saved = buf[start - 1]!;
    buf[start - 1] = LEAF_HASH_PREFIX;
    // A view made by the constructor costs half what subarray() does in JSC (65 against 142 ns here).
    Bun.SHA256.hash(new Uint8Array(buf.buffer, buf.byteOffset + start - 1, length + 1), scratch);
    buf[start - 1] = saved;
    const at = HASH_SIZE * i;
    for (let b = 0; b < HASH_SIZE; b++) out[at + b] = scratch[b]!;
  }
}

/**
 * The node hasher for the writer's frontier (CompactFrontier.appendMany): the SHA-NI batch
 * routine when this CPU and build have it, else Bun.SHA256 per node.
 */
export function nodeHasher(): NodeHasher {
  const native = nativeSha256();
  return native ? (input, inOffset, count, out, outOffset) => native.nodes(input, inOffset, count, out, outOffset) : hashNodes;
}

/** Spans and leaf hashes of up to `n` lines, reused from chunk to chunk (valid until the next call). */
let spans = new Uint32Array(2 * 1024);
let leaves = new Uint8Array(HASH_SIZE * 1024);

export function leafScratch(n: number): { spans: Uint32Array; leaves: Uint8Array } {
  if (spans.length < 2 * n) {
    spans = new Uint32Array(2 * n);
    leaves = new Uint8Array(HASH_SIZE * n);
  }
  return { spans, leaves };
}
