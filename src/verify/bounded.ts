/**
 * Parsing a line an attacker wrote, with memory bounded whatever its bytes: the line is at
 * most MAX_LINE_BYTES long (enforced by the reader as it streams), and before JSON.parse
 * sees it a structural pre-scan counts its nesting and its values, so no line can be
 * valid JSON built to be expensive (a million nested arrays, an array of half a million
 * numbers). The bounds are far above anything ato writes (a checkpoint's frontier holds
 * at most 64 hashes; records nest two or three levels) and are in src/evidence/FORMAT.md.
 *
 * Every failure here is the input's (CORRUPT, or the decoder's invalid UTF-8), returned as
 * a reason; anything else thrown is a bug and propagates.
 */
import { AtoError } from "../errors.ts";
import { canonicalize, parseRecord, type EvidenceRecord } from "../evidence/index.ts";

/** Objects and arrays nested deeper than this are refused before parsing. */
export const MAX_DEPTH = 32;
/** Lines with more values (members and elements) than this are refused before parsing. */
export const MAX_VALUES = 65_536;

const decoder = new TextDecoder("utf-8", { fatal: true });
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Why a line's structure is over the bounds, or undefined when it is within them. */
export function structureProblem(buf: Uint8Array, start: number, end: number): string | undefined {
  let depth = 0;
  let values = 1;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === QUOTE) {
      for (i++; i < end && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > MAX_DEPTH) return `it nests deeper than ${MAX_DEPTH} levels`;
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    } else if (b === 0x2c && ++values > MAX_VALUES) {
      return `it holds more than ${MAX_VALUES} values`;
    }
  }
  return undefined;
}

export type Parsed = { rec: EvidenceRecord; text: string } | { rec: undefined; problem: string };

/** The record on a line, or why it is not one. */
export function parseLine(buf: Uint8Array, start: number, end: number): Parsed {
  const shape = structureProblem(buf, start, end);
  if (shape) return { rec: undefined, problem: `line is not an evidence record: ${shape}` };
  let text: string;
  try {
    text = decoder.decode(buf.subarray(start, end));
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_ENCODING_INVALID_ENCODED_DATA") throw e;
    return { rec: undefined, problem: "line is not valid UTF-8" };
  }
  try {
    return { rec: parseRecord(text), text };
  } catch (e) {
    if (!(e instanceof AtoError) || e.code !== "CORRUPT") throw e;
    return { rec: undefined, problem: `line is not an evidence record: ${e.message}` };
  }
}

/** Why a parsed line is not the RFC 8785 form ato writes, or undefined when it is. */
export function canonicalProblem(rec: EvidenceRecord, text: string): string | undefined {
  let canonical: string;
  try {
    canonical = canonicalize(rec);
  } catch (e) {
    if (!(e instanceof AtoError) || e.code !== "CORRUPT") throw e;
    return `its JSON cannot be written canonically: ${e.message}`;
  }
  return canonical === text ? undefined : "it is not in canonical form (RFC 8785: sorted keys, no spaces, shortest numbers and escapes)";
}

/** The segment number a file's first line records, if it is a segment line. */
export function firstLineSegment(head: Uint8Array): number | undefined {
  const nl = head.indexOf(0x0a);
  const p = parseLine(head, 0, nl < 0 ? head.length : nl);
  const n = p.rec?.kind === "segment" ? (p.rec.data as { segment?: unknown }).segment : undefined;
  return Number.isSafeInteger(n) ? (n as number) : undefined;
}
