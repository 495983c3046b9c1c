/**
 * Checkpoint signatures checked ahead by the hash worker. A checkpoint's Ed25519 check costs
 * 110-220 µs here, about a third of the verifier thread's time on a log with a checkpoint every
 * 1000 lines, so the worker, after hashing a chunk's leaves, also checks the signature of every
 * checkpoint line among them and writes down exactly what it checked: the key, the signed text,
 * the signature and the verdict (`presign`, in the worker). checkpoint.ts asks `checkedSignature`,
 * which takes a verdict only for the very same key, text and signature bytes, and otherwise checks
 * the signature itself: the verdict is the same function of the same bytes either way. The worker
 * does this after the chunk's hashes are marked done, so this thread never waits for a signature: a
 * checkpoint the worker has not reached yet is checked here, and the worker stops at the chunk's
 * next checkpoint once this thread is past the chunk (`stop`).
 *
 * The record of one slot (a shared Int32Array): [count, then per entry: key index, verdict,
 * signature length, text length, the signature's and the text's bytes padded to 4].
 */
import { AtoError } from "../errors.ts";
import { keyId, keyIdHex, parseSignedNote } from "../evidence/index.ts";
import { verifySignature } from "../signer/verify.ts";
import type { SignatureAlgorithm } from "../signer/types.ts";
import { parseLine } from "./bounded.ts";
import type { TrustedKey } from "./keys.ts";
import { quickKind } from "./quick.ts";

/** Bytes of one slot's record: a chunk holds a few checkpoints of a few hundred bytes each. */
export const SIG_BYTES = 64 << 10;

export interface PresignKey {
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
}

/** The verdicts of the current chunk (set by the reader for the chunk whose lines go out). */
let current: { keys: readonly TrustedKey[]; words: Int32Array } | undefined;

export function provideSignatures(s: typeof current): void {
  current = s;
}

/** checkpoint.ts's signature check: the worker's verdict for these exact bytes, else verifySignature. */
export function checkedSignature(key: TrustedKey, text: Uint8Array, signature: Uint8Array): boolean {
  const v = current === undefined ? undefined : lookup(current, key, text, signature);
  return v ?? verifySignature(key.spkiDer, key.algorithm, text, signature);
}

function lookup(c: NonNullable<typeof current>, key: TrustedKey, text: Uint8Array, signature: Uint8Array): boolean | undefined {
  const w = c.words;
  const bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  const count = Atomics.load(w, 0); // the entries before it are whole (the worker may still be adding more)
  let at = 1;
  for (let i = 0; i < count; i++) {
    const [k, verdict, sigLength, textLength] = [w[at]!, w[at + 1]!, w[at + 2]!, w[at + 3]!];
    const sig = 4 * (at + 4);
    const txt = sig + pad(sigLength);
    if (c.keys[k] === key && sigLength === signature.length && textLength === text.length && same(bytes, sig, signature) && same(bytes, txt, text)) return verdict === 1;
    at += 4 + (pad(sigLength) + pad(textLength)) / 4;
  }
  return undefined;
}

/**
 * In the worker: for each checkpoint line among the spans, what checkpoint.ts would check
 * (its note's text and each signature whose key name and ID match a given key, the first such
 * one), verified and written to `words`. Lines that are not well-formed checkpoints are left to
 * the verifier's thread, which reports them.
 */
export function presign(buf: Uint8Array, spans: Uint32Array, count: number, keys: readonly PresignKey[], words: Int32Array, stop: () => boolean): void {
  Atomics.store(words, 0, 0);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  let at = 1;
  for (let i = 0; i < count; i++) {
    const start = spans[2 * i]!;
    const end = start + spans[2 * i + 1]!;
    if (quickKind(buf, start, end) !== "checkpoint") continue;
    if (stop()) return;
    const found = signed(buf, start, end, keys);
    if (found === undefined) continue;
    const { k, text, signature } = found;
    const size = 4 * (at + 4) + pad(signature.length) + pad(text.length);
    if (size > bytes.length) return; // full: the rest are checked by the verifier's thread
    const verdict = verify(keys[k]!, text, signature);
    if (verdict === undefined) continue;
    words.set([k, verdict ? 1 : 0, signature.length, text.length], at);
    bytes.set(signature, 4 * (at + 4));
    bytes.set(text, 4 * (at + 4) + pad(signature.length));
    at = size / 4;
    Atomics.store(words, 0, Atomics.load(words, 0) + 1); // after the entry's bytes: it is whole once counted
  }
}

function signed(buf: Uint8Array, start: number, end: number, keys: readonly PresignKey[]): { k: number; text: Uint8Array; signature: Uint8Array } | undefined {
  try {
    const p = parseLine(buf, start, end);
    // Only the note is needed: a checkpoint whose other fields are malformed is never checked there.
    const d = p.rec?.kind === "checkpoint" ? (p.rec.data as { signature_status?: unknown; note?: unknown }) : undefined;
    if (d?.signature_status !== "ok" || typeof d.note !== "string") return undefined;
    const note = parseSignedNote(d.note);
    for (const sig of note.signatures) {
      const id = keyIdHex(sig.keyId);
      const k = keys.findIndex((key) => keyIdHex(keyId(sig.keyName, key.algorithm, key.spkiDer)) === id);
      if (k !== -1) return { k, text: new TextEncoder().encode(note.text), signature: sig.signature };
    }
    return undefined;
  } catch (e) {
    if (e instanceof AtoError && e.code === "CORRUPT") return undefined; // the verifier's thread reports it
    throw e;
  }
}

function verify(key: PresignKey, text: Uint8Array, signature: Uint8Array): boolean | undefined {
  try {
    return verifySignature(key.spkiDer, key.algorithm, text, signature);
  } catch (e) {
    if (e instanceof AtoError && e.code === "CORRUPT") return undefined; // a malformed key: the verifier's thread says so
    throw e;
  }
}

function pad(n: number): number {
  return (n + 3) & ~3;
}

function same(bytes: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (bytes[at + i] !== b[i]) return false;
  return true;
}
