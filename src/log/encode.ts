/**
 * Records of one kind encoded as canonical lines (RFC 8785) in one buffer, ready for a single
 * write(2), with each line's Merkle leaf hash computed in place (no copy of the line).
 */
import { AtoError } from "../errors.ts";
import { canonicalize, type RecordData } from "../evidence/index.ts";
import { sha256, type Hash } from "../tree/index.ts";
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
/** The data object of record i as canonical JSON text (the flow records' path: see encodeTexts). */
export type BodyText = (i: number) => string;

const encoder = new TextEncoder();
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

/** The constant parts of a chunk's lines, as bytes: each line is head, data, mid, seq, tail. */
export interface Envelope {
  head: Uint8Array;
  mid: Uint8Array;
  tail: Uint8Array;
}

/**
 * Writes lines from..n-1 whole (envelope and newline) at w.pos, moving it, with line k's start and
 * length (without its newline) at spans[2k], spans[2k+1]; returns the first line it did not write
 * (n when none is left). That line is written from its text, and the writer asked again from the
 * next. (The collector's native writer: asm/flow_lines.asm.)
 */
export interface LineWriter {
  (w: JsonBytes, from: number, n: number, env: Envelope, firstSeq: number, spans: Uint32Array): number;
  /**
   * After the writer left line `from`: the end (at most n, more than from) of the run of lines from
   * there it would leave too, all written from their text before it is asked again (IPv6 flows:
   * one call per run of them, not per line). Without it, only line `from`.
   */
  textUntil?: (from: number, n: number) => number;
}

/**
 * The same lines as encodeChunk, with each record's data given as canonical JSON text, or written
 * whole by `lines` where it can: the lines left to the text are joined as one string and encoded
 * in one call. Why text: per record this is a few string concatenations instead of a byte store
 * per character, which is what an export pays when its code has never been compiled (the agent's
 * shutdown: thousands of records through the interpreter). `text` and `leaves` are valid until
 * the next call.
 */
export function encodeTexts(kind: string, n: number, body: BodyText, cls: string, firstSeq: number, ts: string, lines?: LineWriter): Encoded {
  const { spans, leaves } = leafScratch(n);
  const w = shared;
  w.pos = 0;
  w.byte(0x0a); // the spare byte before the first line
  const env = lines && { ...envelope(kind, cls), tail: tail(ts) };
  for (let i = 0; i < n; ) {
    if (env) i = lines!(w, i, n, env, firstSeq, spans);
    if (i >= n) break;
    // the line the writer left and those after it that it would leave too, or all of them without one
    const stop = env ? Math.min(n, Math.max(i + 1, lines!.textUntil?.(i, n) ?? 0)) : n;
    textLines(w, kind, i, stop, body, cls, firstSeq, ts, spans);
    i = stop;
  }
  // No line is longer than all of them together (with their newlines): a chunk's lines are looked at one
  // by one only when that is past the limit (a loop step per record less where it runs uncompiled).
  if (w.pos - 1 > MAX_LINE_BYTES) for (let i = 0; i < n; i++) {
    if (spans[2 * i + 1]! > MAX_LINE_BYTES) throw new AtoError(`a ${kind} record of ${spans[2 * i + 1]} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`, "USAGE");
  }
  const text = w.buf.subarray(0, w.pos);
  hashLeaves(text, spans, n, leaves);
  return { text, leaves, count: n };
}

/** One line of its own: its bytes with the newline, and its leaf hash (both kept: nothing else writes them). */
export interface OwnLine {
  line: Uint8Array;
  leaf: Hash;
}

/**
 * The line encodeObjects writes for one record whose data is `dataText` (canonical JSON text), in
 * a buffer of its own: the line the log holds while the sync of what it covers runs (a checkpoint).
 */
export function encodeLine(kind: string, dataText: string, cls: string, seq: number, ts: string): OwnLine {
  const { head, mid } = envelopeText(kind, cls);
  // The leaf prefix (0x00) before the line and its newline after it: one encode, one buffer.
  const bytes = encoder.encode(`\0${head}${dataText}${mid}${seq}${tailText(ts)}\n`);
  const length = bytes.length - 2;
  if (length > MAX_LINE_BYTES) throw new AtoError(`a ${kind} record of ${length} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`, "USAGE");
  return { line: bytes.subarray(1), leaf: sha256(bytes.subarray(0, 1 + length)) };
}

/** encodeTexts with one hash per line (`text` is still valid only until the next call). */
export function encodeTextLines(kind: string, n: number, body: BodyText, cls: string, firstSeq: number, ts: string, lines?: LineWriter): { text: Uint8Array; leaves: Hash[] } {
  const e = encodeTexts(kind, n, body, cls, firstSeq, ts, lines);
  return { text: e.text, leaves: split(e) };
}

/** Lines from..to-1 from their text, as one string encoded at w.pos. */
function textLines(w: JsonBytes, kind: string, from: number, to: number, body: BodyText, cls: string, firstSeq: number, ts: string, spans: Uint32Array): void {
  const { head, mid } = envelopeText(kind, cls);
  const end = tailText(ts);
  const base = w.pos;
  let all = "";
  for (let i = from; i < to; i++) {
    const line = `${head}${body(i)}${mid}${firstSeq + i}${end}`;
    spans[2 * i] = base + all.length;
    spans[2 * i + 1] = line.length;
    all += `${line}\n`;
  }
  w.ensure(3 * all.length); // UTF-8 needs at most 3 bytes per UTF-16 code unit
  const written = encoder.encodeInto(all, w.buf.subarray(base)).written;
  // Plain ASCII (the rule: addresses, numbers, times, names) has one byte per code unit, so the spans hold;
  // otherwise (an interface name beyond ASCII) each line is encoded again on its own to find its bytes.
  w.pos = written === all.length ? base + written : respan(w.buf, base, all, from, to, spans);
}

/** The byte spans of lines that are not all ASCII: each line encoded again at its place (the rare path); returns the end. */
function respan(buf: Uint8Array, base: number, all: string, from: number, to: number, spans: Uint32Array): number {
  let p = base;
  for (let i = from; i < to; i++) {
    const at = spans[2 * i]! - base, line = all.slice(at, at + spans[2 * i + 1]! + 1); // with its newline
    const written = encoder.encodeInto(line, buf.subarray(p)).written;
    spans[2 * i] = p;
    spans[2 * i + 1] = written - 1;
    p += written;
  }
  return p;
}

const textHeads = new Map<string, { head: string; mid: string }>();
let tailTextTs = "";
let tailTextValue = "";

function envelopeText(kind: string, cls: string): { head: string; mid: string } {
  const key = `${kind}\n${cls}`;
  let e = textHeads.get(key);
  if (e) return e;
  const b = envelope(kind, cls), d = new TextDecoder();
  e = { head: d.decode(b.head), mid: d.decode(b.mid) };
  if (textHeads.size < 256) textHeads.set(key, e);
  return e;
}

function tailText(ts: string): string {
  if (ts !== tailTextTs) {
    tailTextValue = new TextDecoder().decode(tail(ts));
    tailTextTs = ts;
  }
  return tailTextValue;
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
