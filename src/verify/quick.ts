/**
 * Reads seq and kind of a record line without a JSON parser (and without making strings). RFC 8785 sorts the envelope's
 * keys (class, data, kind, seq, ts, v), so every record ends with the same fixed shape:
 *
 *   ...},"kind":"flow","seq":123,"ts":"2025-06-01T12:00:00.000Z","v":1}
 *
 * and nothing inside "data" can end the line that way. Lines that do not have exactly this
 * shape, and lines of the kinds the verifier must read (checkpoint, segment, and the witness
 * lines for --witness), get a full JSON parse instead. Record bodies need no parsing: their bytes are what the hashes cover.
 */
const enc = (s: string) => new TextEncoder().encode(s);
const QUOTE = 0x22;
/** The fixed tail after the seq's digits: ,"ts":" + 24 characters of time + ","v":1} */
const TAIL = 7 + 24 + 8;
const SEQ_LENGTH = 7; // ,"seq":
const KIND_LENGTH = 9; // ,"kind":"

/** The kinds the verifier reads in full ("witness": cosignature, witness_refusal); every other kind is just "record" here. */
export type QuickKind = "checkpoint" | "segment" | "witness" | "record";

export interface QuickHead {
  seq: number;
  kind: QuickKind;
}

const CHECKPOINT = enc("checkpoint");
const SEGMENT = enc("segment");
const COSIGNATURE = enc("cosignature");
const WITNESS_REFUSAL = enc("witness_refusal");

// The words compared (overlapping where a piece is not a multiple of four bytes long).
const V_START = word('","v'); // the closing quote of ts, then ,"v
const V_END = word('":1}');
const TS_START = word(',"ts');
const TS_END = word('s":"');
const HEAD_0 = word('{"cl');
const HEAD_1 = word('ass"');
const HEAD_2 = word('s":"');
const SEQ_0 = word(',"se');
const SEQ_1 = word('eq":');
const KIND_0 = word(',"ki');
const KIND_1 = word('nd":');

/** The DataView of the buffer quickKind last read (made once per reader buffer, not per line). */
let viewed: Uint8Array | undefined;
let view: DataView;

export function quickHead(buf: Uint8Array, start: number, end: number): QuickHead | undefined {
  const kind = quickKind(buf, start, end);
  return kind === undefined ? undefined : { seq: quickSeq, kind };
}

/** The seq of the line quickKind last matched. */
export let quickSeq = 0;

/**
 * quickHead without an object: the kind, with the seq left in `quickSeq` (the verifier calls this
 * for every line, and an ordinary record's line should allocate nothing).
 */
export function quickKind(buf: Uint8Array, start: number, end: number): QuickKind | undefined {
  // The fixed bytes are compared four at a time (little-endian words through a DataView; this runs for
  // every line, and byte by byte it was ~45 loads). Every load lies in [start, end): the first check
  // makes the line at least as long as the fixed tail, and each later one is behind a bound as before.
  const ts = end - TAIL; // ,"ts":"2025-06-01T12:00:00.000Z","v":1}
  if (ts < start) return undefined;
  if (buf !== viewed) {
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    viewed = buf;
  }
  const w = view;
  if (w.getInt32(end - 4, true) !== V_END || w.getInt32(end - 8, true) !== V_START || w.getInt32(ts, true) !== TS_START || w.getInt32(ts + 3, true) !== TS_END) return undefined;
  if (w.getInt32(start, true) !== HEAD_0 || w.getInt32(start + 4, true) !== HEAD_1 || w.getInt32(start + 6, true) !== HEAD_2) return undefined;
  let d = ts;
  let c = buf[d - 1]!;
  while (d > start && c >= 0x30 && c <= 0x39) c = buf[--d - 1]!;
  const digits = ts - d;
  const q = d - SEQ_LENGTH; // ,"seq":
  if (digits === 0 || digits > 16 || (digits > 1 && buf[d] === 0x30) || q < start) return undefined;
  if (w.getInt32(q, true) !== SEQ_0 || w.getInt32(q + 3, true) !== SEQ_1) return undefined;
  let seq = 0;
  for (let i = d; i < ts; i++) seq = seq * 10 + (buf[i]! - 0x30); // the digit first: seq * 10 + 0x39 can pass 2^53 where the result does not
  if (seq > Number.MAX_SAFE_INTEGER) return undefined; // exact up to 2^53; anything above rounds to at least 2^53
  const kindEnd = q - 1;
  if (buf[kindEnd] !== QUOTE) return undefined;
  let k = kindEnd;
  while (k > start && isKindByte(buf[k - 1]!)) k--;
  const kk = k - KIND_LENGTH; // ,"kind":"
  if (k === kindEnd || kk < start || w.getInt32(kk, true) !== KIND_0 || w.getInt32(kk + 4, true) !== KIND_1 || buf[kk + 8] !== QUOTE) return undefined;
  // No string is made for the kind: only two kinds matter here, and this runs for every line.
  quickSeq = seq;
  return kindAt(buf, k, kindEnd - k);
}

/** The little-endian 32-bit word of four ASCII characters. */
function word(s: string): number {
  return s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
}

/** By length first: most kinds are compared with nothing (this runs for every line). */
function kindAt(buf: Uint8Array, k: number, length: number): QuickKind {
  if (length === CHECKPOINT.length) return at(buf, k, k, CHECKPOINT) ? "checkpoint" : "record";
  if (length === SEGMENT.length) return at(buf, k, k, SEGMENT) ? "segment" : "record";
  if (length === COSIGNATURE.length) return at(buf, k, k, COSIGNATURE) ? "witness" : "record";
  if (length === WITNESS_REFUSAL.length) return at(buf, k, k, WITNESS_REFUSAL) ? "witness" : "record";
  return "record";
}

function isKindByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f;
}

/** True when `s` is at `pos`, and `pos` is inside the line (not before `start`). */
function at(buf: Uint8Array, start: number, pos: number, s: Uint8Array): boolean {
  if (pos < start || pos + s.length > buf.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[pos + i] !== s[i]) return false;
  return true;
}
