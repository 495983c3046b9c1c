/**
 * Cutting a chunk of a segment file into forwarded events. The chunk is read at a line
 * boundary; lines are taken up to its last newline, each checked to carry the seq the
 * cursor expects (a line that does not is a log that changed under the forwarder).
 */
import { AtoError } from "../errors.ts";
import type { ForwardEvent } from "./event.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

export interface Cut {
  events: ForwardEvent[];
  /** Bytes consumed: the complete lines with their newlines. */
  used: number;
  /** A complete last line that is not a record: in the active file it may still be cut by repair. */
  unparsableAt: number | undefined;
}

export function cutLines(buf: Uint8Array, origin: string, firstSeq: number, where: () => string, maxRecords: number): Cut {
  const events: ForwardEvent[] = [];
  let pos = 0;
  let seq = firstSeq;
  while (events.length < maxRecords) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const line = decodeLine(buf.subarray(pos, nl));
    const rec = line === undefined ? undefined : parseEnvelope(line);
    if (rec === undefined || line === undefined) return { events, used: pos, unparsableAt: pos };
    if (rec.seq !== seq) throw new AtoError(`${where()}: the line at seq ${seq} says seq ${rec.seq}: the log changed under the forwarder's cursor`, "CORRUPT");
    events.push({ origin, seq, kind: rec.kind, class: rec.class, ts: rec.ts, line, bytes: nl - pos });
    seq++;
    pos = nl + 1;
  }
  return { events, used: pos, unparsableAt: undefined };
}

function decodeLine(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The envelope fields. A canonical line (RFC 8785: keys sorted) starts with "class" and ends
 * with "kind", "seq", "ts", "v" after the data object, whose strings cannot hold an unescaped
 * quote: so the fields are read off both ends without parsing the data. Anything else is
 * parsed in full.
 */
const TAIL = /\},"kind":"([a-z][a-z0-9_]*)","seq":(\d+),"ts":"([^"\\]+)","v":\d+\}$/;
const HEAD = /^\{"class":"([a-z][a-z0-9_-]*)","data":\{/;

function parseEnvelope(line: string): { seq: number; kind: string; class: string; ts: string } | undefined {
  const head = HEAD.exec(line);
  const tail = head ? TAIL.exec(line.slice(line.lastIndexOf('},"kind":"'))) : null;
  if (head && tail) return { class: head[1]!, kind: tail[1]!, seq: Number(tail[2]), ts: tail[3]! };
  try {
    const o = JSON.parse(line);
    if (o && typeof o.seq === "number" && typeof o.kind === "string" && typeof o.class === "string" && typeof o.ts === "string") return o;
  } catch {
    // not JSON
  }
  return undefined;
}

/** The seq of the last complete line of a tail chunk (for the cursor check and the lag). */
export function lastLineOf(buf: Uint8Array): { seq: number; ts: string } | undefined {
  const end = buf.lastIndexOf(0x0a);
  if (end < 0) return undefined;
  const start = buf.lastIndexOf(0x0a, end - 1) + 1;
  const line = decodeLine(buf.subarray(start, end));
  const rec = line === undefined ? undefined : parseEnvelope(line);
  return rec && { seq: rec.seq, ts: rec.ts };
}
