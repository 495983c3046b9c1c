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
const HEAD = enc('{"class":"');
const V1 = enc(',"v":1}');
const TS = enc(',"ts":"');
const SEQ = enc(',"seq":');
const KIND = enc(',"kind":"');
const TS_LENGTH = 24; // 2025-06-01T12:00:00.000Z
const QUOTE = 0x22;

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

export function quickHead(buf: Uint8Array, start: number, end: number): QuickHead | undefined {
  if (!at(buf, start, start, HEAD) || !at(buf, start, end - V1.length, V1)) return undefined;
  const ts = end - V1.length - TS.length - TS_LENGTH - 1;
  if (!at(buf, start, ts, TS) || buf[end - V1.length - 1] !== QUOTE) return undefined;
  let d = ts;
  while (d > start && buf[d - 1]! >= 0x30 && buf[d - 1]! <= 0x39) d--;
  const digits = ts - d;
  if (digits === 0 || digits > 16 || (digits > 1 && buf[d] === 0x30) || !at(buf, start, d - SEQ.length, SEQ)) return undefined;
  let seq = 0;
  for (let i = d; i < ts; i++) seq = seq * 10 + (buf[i]! - 0x30); // the digit first: seq * 10 + 0x39 can pass 2^53 where the result does not
  if (seq > Number.MAX_SAFE_INTEGER) return undefined; // exact up to 2^53; anything above rounds to at least 2^53
  const kindEnd = d - SEQ.length - 1;
  if (buf[kindEnd] !== QUOTE) return undefined;
  let k = kindEnd;
  while (k > start && isKindByte(buf[k - 1]!)) k--;
  if (k === kindEnd || !at(buf, start, k - KIND.length, KIND)) return undefined;
  // No string is made for the kind: only two kinds matter here, and this runs for every line.
  return { seq, kind: kindAt(buf, k, kindEnd - k) };
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
