/**
 * The byte-by-byte reading of a line's kind and seq that src/verify/quick.ts replaced with word compares: kept
 * here as the oracle the fast one must agree with on every line (quick.test.ts).
 */
const enc = (s: string) => new TextEncoder().encode(s);
const TS = enc(',"ts":"');
const SEQ = enc(',"seq":');
const KIND = enc(',"kind":"');
const TS_LENGTH = 24;
const QUOTE = 0x22;
const CHECKPOINT = enc("checkpoint");
const SEGMENT = enc("segment");
const COSIGNATURE = enc("cosignature");
const WITNESS_REFUSAL = enc("witness_refusal");
type QuickKind = "checkpoint" | "segment" | "witness" | "record";

export let bytewiseSeq = 0;

export function bytewiseKind(buf: Uint8Array, start: number, end: number): QuickKind | undefined {
  // The fixed bytes are compared one by one, unrolled (this runs for every line; a loop over a
  // constant array costs about twice as much). Reads past the buffer give undefined: no match.
  const v = end - 7; // ,"v":1}
  if (v < start || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x31 || buf[end - 3] !== 0x3a || buf[v + 3] !== QUOTE || buf[v + 2] !== 0x76 || buf[v + 1] !== QUOTE || buf[v] !== 0x2c) return undefined;
  if (!isHead(buf, start)) return undefined;
  const ts = v - TS.length - TS_LENGTH - 1; // ,"ts":"
  if (ts < start || buf[v - 1] !== QUOTE || buf[ts] !== 0x2c || buf[ts + 1] !== QUOTE || buf[ts + 2] !== 0x74 || buf[ts + 3] !== 0x73 || buf[ts + 4] !== QUOTE || buf[ts + 5] !== 0x3a || buf[ts + 6] !== QUOTE) return undefined;
  let d = ts;
  let c = buf[d - 1]!;
  while (d > start && c >= 0x30 && c <= 0x39) c = buf[--d - 1]!;
  const digits = ts - d;
  const q = d - SEQ.length; // ,"seq":
  if (digits === 0 || digits > 16 || (digits > 1 && buf[d] === 0x30) || q < start) return undefined;
  if (buf[q] !== 0x2c || buf[q + 1] !== QUOTE || buf[q + 2] !== 0x73 || buf[q + 3] !== 0x65 || buf[q + 4] !== 0x71 || buf[q + 5] !== QUOTE || buf[q + 6] !== 0x3a) return undefined;
  let seq = 0;
  for (let i = d; i < ts; i++) seq = seq * 10 + (buf[i]! - 0x30); // the digit first: seq * 10 + 0x39 can pass 2^53 where the result does not
  if (seq > Number.MAX_SAFE_INTEGER) return undefined; // exact up to 2^53; anything above rounds to at least 2^53
  const kindEnd = q - 1;
  if (buf[kindEnd] !== QUOTE) return undefined;
  let k = kindEnd;
  while (k > start && isKindByte(buf[k - 1]!)) k--;
  const kk = k - KIND.length; // ,"kind":"
  if (k === kindEnd || kk < start || buf[kk] !== 0x2c || buf[kk + 1] !== QUOTE || buf[kk + 2] !== 0x6b || buf[kk + 3] !== 0x69 || buf[kk + 4] !== 0x6e || buf[kk + 5] !== 0x64 || buf[kk + 6] !== QUOTE || buf[kk + 7] !== 0x3a || buf[kk + 8] !== QUOTE) return undefined;
  // No string is made for the kind: only two kinds matter here, and this runs for every line.
  bytewiseSeq = seq;
  return kindAt(buf, k, kindEnd - k);
}

/** {"class":" at p. */
function isHead(buf: Uint8Array, p: number): boolean {
  return buf[p] === 0x7b && buf[p + 1] === QUOTE && buf[p + 2] === 0x63 && buf[p + 3] === 0x6c && buf[p + 4] === 0x61 && buf[p + 5] === 0x73 && buf[p + 6] === 0x73 && buf[p + 7] === QUOTE && buf[p + 8] === 0x3a && buf[p + 9] === QUOTE;
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
