/**
 * One forwarded event: the log line verbatim (the exact bytes the Merkle tree hashed, as a
 * string) and the few fields a sink indexes by. `id` = origin/seq is the idempotency key: a
 * sink that deduplicates on it ends with every line exactly once however often it is sent.
 *
 *   {"class":"internal","id":"ato/h/x/41","kind":"flow","line":"{…}","origin":"ato/h/x","seq":41,"ts":"…"}
 */
export interface ForwardEvent {
  origin: string;
  seq: number;
  kind: string;
  class: string;
  /** RFC 3339 time the line was written. */
  ts: string;
  /** The line without its newline, exactly as on disk. */
  line: string;
  /** Its size in bytes (UTF-8), when the reader knows it. */
  bytes?: number;
}

export function eventId(e: Pick<ForwardEvent, "origin" | "seq">): string {
  return `${e.origin}/${e.seq}`;
}

/** The NDJSON form of an event (keys sorted, as every other ato JSON line). */
export function eventJson(e: ForwardEvent): string {
  // Written out by hand (the same bytes JSON.stringify gives for this object): only the line
  // needs escaping; origin, kind, class and ts are escaped too, as they come from the log.
  return `{"class":${str(e.class)},"id":${str(eventId(e))},"kind":${str(e.kind)},"line":${JSON.stringify(e.line)},"origin":${str(e.origin)},"seq":${e.seq},"ts":${str(e.ts)}}`;
}

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string: as is when nothing in it needs escaping (the usual case), else JSON.stringify. */
function str(v: string): string {
  return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}

/** What a batch of events weighs for the byte limits: the line plus the envelope around it. */
export function eventBytes(e: ForwardEvent): number {
  return e.line.length + e.origin.length + 96;
}
