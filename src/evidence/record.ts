/**
 * One evidence record: one canonical JSON object (RFC 8785) on one line. The bytes of the
 * line without its newline are exactly what the Merkle tree hashes as a leaf, so a record
 * is never re-serialised after it is written.
 *
 *   {"class":"internal","data":{…},"kind":"flow","seq":41,"ts":"2025-06-01T12:00:00.000Z","v":1}
 *
 * `seq` is the record's leaf index in the log's one tree: it starts at 0 and grows by one
 * per line, whatever the kind (checkpoint and segment lines included), across segments.
 */
import { AtoError } from "../errors.ts";
import { canonicalize } from "./canonical.ts";

export const RECORD_VERSION = 1;

/** The longest line ato writes, in bytes before its newline; a verifier refuses longer ones. */
export const MAX_LINE_BYTES = 1 << 20;

/** The kernel's events (ring buffer), each a record kind of its own and a label of xdp_audit_events_total. */
export const EVENT_KINDS = ["spike", "timing", "overflow"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Kinds ato writes; collectors may add others of the same shape. */
export type RecordKind = "flow" | "spike" | "timing" | "overflow" | "agent" | "attest" | "repair" | "checkpoint" | "segment" | "retire" | (string & {});

export type RecordData = Record<string, unknown>;

export interface EvidenceRecord<D extends RecordData = RecordData> {
  v: number;
  seq: number;
  /** RFC 3339 UTC with milliseconds, e.g. 2025-06-01T12:00:00.000Z. */
  ts: string;
  kind: RecordKind;
  /** Data classification label, e.g. "internal", "confidential". */
  class: string;
  data: D;
}

const KIND = /^[a-z][a-z0-9_]{0,31}$/;
const CLASS = /^[a-z][a-z0-9_-]{0,31}$/;
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function rfc3339(date: Date): string {
  return date.toISOString();
}

/** The line's bytes (UTF-8, no newline). Throws CORRUPT for a kind, label or data that cannot be written. */
export function encodeRecord(r: EvidenceRecord): string {
  if (!KIND.test(r.kind)) throw new AtoError(`record kind must match ${KIND}; got '${r.kind}'`, "CORRUPT");
  if (!CLASS.test(r.class)) throw new AtoError(`classification label must match ${CLASS}; got '${r.class}'`, "CORRUPT");
  if (r.data === null || typeof r.data !== "object" || Array.isArray(r.data)) throw new AtoError("record data must be a JSON object", "CORRUPT");
  return canonicalize({ class: r.class, data: r.data, kind: r.kind, seq: r.seq, ts: r.ts, v: r.v });
}

/** Parses and checks the envelope of one line; the data is returned as found. */
export function parseRecord(line: string): EvidenceRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new AtoError("line is not JSON", "CORRUPT", { cause: e });
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new AtoError("line is not a JSON object", "CORRUPT");
  const r = o as Record<string, unknown>;
  if (r.v !== RECORD_VERSION) throw new AtoError(`record format version ${JSON.stringify(r.v)} is not ${RECORD_VERSION}`, "CORRUPT");
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) throw new AtoError(`record seq ${JSON.stringify(r.seq)} is not a non-negative integer`, "CORRUPT");
  if (typeof r.ts !== "string" || !TS.test(r.ts)) throw new AtoError(`record ts ${JSON.stringify(r.ts)} is not RFC 3339 UTC`, "CORRUPT");
  if (typeof r.kind !== "string" || !KIND.test(r.kind)) throw new AtoError(`record kind ${JSON.stringify(r.kind)} is not valid`, "CORRUPT");
  if (typeof r.class !== "string" || !CLASS.test(r.class)) throw new AtoError(`record class ${JSON.stringify(r.class)} is not valid`, "CORRUPT");
  if (r.data === null || typeof r.data !== "object" || Array.isArray(r.data)) throw new AtoError("record data is not an object", "CORRUPT");
  const extra = Object.keys(r).filter((k) => !["v", "seq", "ts", "kind", "class", "data"].includes(k));
  if (extra.length > 0) throw new AtoError(`record has unknown fields: ${extra.join(", ")}`, "CORRUPT");
  return r as unknown as EvidenceRecord;
}
