/**
 * Records of one kind encoded as canonical lines (RFC 8785) in one buffer, ready for a single
 * write(2), with each line's Merkle leaf hash computed in place (no copy of the line).
 */
import { AtoError } from "../errors.ts";
import { canonicalize, type RecordData } from "../evidence/index.ts";
import type { Hash } from "../tree/index.ts";
import { asciiBytes, JsonBytes } from "./bytes.ts";
import { hashLeaves, leafScratch } from "./leaves.ts";

/** Encoded lines: `text` starts with one spare byte; leaves[32i : 32i+32] is line i's leaf hash. Valid until the next encode. */
export interface Encoded {
  text: Uint8Array;
  leaves: Uint8Array;
  count: number;
}

export const MAX_LINE_BYTES = 1 << 20;

/**
 * Records as objects: each record's data through canonicalize(), written with the envelope
 * into a reused buffer of their own (no join of the lines, no second copy): the same bytes as
 * encodeRecord() per line (test/log/bytes.test.ts). Valid until the next call.
 */
export function encodeObjects(kind: string, data: RecordData[], cls: string, firstSeq: number, ts: string): Encoded {
  for (const d of data) if (d === null || typeof d !== "object" || Array.isArray(d)) throw new AtoError("record data must be a JSON object", "CORRUPT");
  return encodeInto(objectBuffer, kind, data.length, (i, w) => w.utf8(canonicalize(data[i])), cls, firstSeq, ts);
}

/** encodeObjects with its own copies: `text` starts with one spare byte; one hash per line. */
export function encodeLines(kind: string, data: RecordData[], cls: string, firstSeq: number, ts: string): { text: Buffer; leaves: Hash[] } {
  const e = encodeObjects(kind, data, cls, firstSeq, ts);
  return { text: Buffer.from(e.text), leaves: split(e) };
}

/** Writes the data object of record i (canonical JSON, see JsonBytes) at w.pos. */
export type BodyWriter = (i: number, w: JsonBytes) => void;

const KIND = /^[a-z][a-z0-9_]{0,31}$/;
const CLASS = /^[a-z][a-z0-9_-]{0,31}$/;
/** Buffers per process, reused: a chunk's lines are hashed and written before the next is encoded. */
const shared = new JsonBytes(1 << 20);
const objectBuffer = new JsonBytes(1 << 16);

/** The envelope's constant parts per kind and class, and its tail per ts: made once, not per chunk. */
const heads = new Map<string, { head: Uint8Array; mid: Uint8Array }>();
let tailTs = "";
let tailBytes: Uint8Array = new Uint8Array(0);

function envelope(kind: string, cls: string): { head: Uint8Array; mid: Uint8Array } {
  const key = `${kind}\n${cls}`;
  let e = heads.get(key);
  if (e) return e;
  if (!KIND.test(kind)) throw new AtoError(`record kind must match ${KIND}; got '${kind}'`, "CORRUPT");
  if (!CLASS.test(cls)) throw new AtoError(`classification label must match ${CLASS}; got '${cls}'`, "CORRUPT");
  e = { head: asciiBytes(`{"class":"${cls}","data":`), mid: asciiBytes(`,"kind":"${kind}","seq":`) };
  if (heads.size < 256) heads.set(key, e);
  return e;
}

function tail(ts: string): Uint8Array {
  if (ts !== tailTs) {
    tailBytes = asciiBytes(`,"ts":${JSON.stringify(ts)},"v":1}`);
    tailTs = ts;
  }
  return tailBytes;
}

/**
 * The same lines as encodeLines, with each record's data written as bytes by `body`: the
 * envelope's members are already in canonical order (class, data, kind, seq, ts, v).
 * `text` and `leaves` are valid until the next call.
 */
export function encodeChunk(kind: string, n: number, body: BodyWriter, cls: string, firstSeq: number, ts: string): Encoded {
  return encodeInto(shared, kind, n, body, cls, firstSeq, ts);
}

/** encodeChunk with one hash per line (`text` is still valid only until the next call). */
export function encodeBodies(kind: string, n: number, body: BodyWriter, cls: string, firstSeq: number, ts: string): { text: Uint8Array; leaves: Hash[] } {
  const e = encodeChunk(kind, n, body, cls, firstSeq, ts);
  return { text: e.text, leaves: split(e) };
}

function split(e: Encoded): Hash[] {
  return Array.from({ length: e.count }, (_, i) => e.leaves.slice(32 * i, 32 * i + 32));
}

function encodeInto(w: JsonBytes, kind: string, n: number, body: BodyWriter, cls: string, firstSeq: number, ts: string): Encoded {
  const { head, mid } = envelope(kind, cls);
  const end = tail(ts);
  w.pos = 0;
  w.byte(0x0a); // the spare byte before the first line
  const { spans, leaves } = leafScratch(n);
  for (let i = 0; i < n; i++) {
    const start = w.pos;
    w.bytes(head);
    body(i, w);
    w.bytes(mid);
    w.number(firstSeq + i);
    w.bytes(end);
    if (w.pos - start > MAX_LINE_BYTES) throw new AtoError(`a ${kind} record of ${w.pos - start} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`, "USAGE");
    spans[2 * i] = start;
    spans[2 * i + 1] = w.pos - start;
    w.byte(0x0a);
  }
  const text = w.buf.subarray(0, w.pos); // the buffer may have grown while encoding: hashed only now
  hashLeaves(text, spans, n, leaves);
  return { text, leaves, count: n };
}
