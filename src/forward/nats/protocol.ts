/**
 * The NATS client protocol's server side, parsed incrementally from a byte stream: INFO,
 * MSG and HMSG (messages with NATS/1.0 headers), PING, PONG, +OK, -ERR. Every control line
 * ends in CRLF; a message's payload follows its control line and is counted in bytes.
 * https://docs.nats.io/reference/reference-protocols/nats-protocol
 */
export type ServerOp =
  | { op: "INFO"; info: Record<string, unknown> }
  | { op: "MSG"; subject: string; sid: number; reply: string | undefined; headers: MsgHeaders | undefined; payload: Buffer }
  | { op: "PING" }
  | { op: "PONG" }
  | { op: "OK" }
  | { op: "ERR"; message: string };

export interface MsgHeaders {
  /** From "NATS/1.0 503 No Responders": 503. */
  status: number | undefined;
  description: string;
  values: Map<string, string>;
}

const EMPTY = Buffer.alloc(0);

/**
 * Parses from an offset into the bytes received, and keeps only the unparsed tail between
 * feeds: a burst of thousands of small acks is one pass over one buffer, and a payload is a
 * view of the socket's chunk, not a copy (each chunk is a fresh buffer, never reused).
 */
export class ProtocolParser {
  private rest: Buffer = EMPTY;

  feed(chunk: Buffer): ServerOp[] {
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const ops: ServerOp[] = [];
    let pos = 0;
    for (;;) {
      let end = buf.indexOf(0x0d, pos);
      while (end >= 0 && end + 1 < buf.length && buf[end + 1] !== 0x0a) end = buf.indexOf(0x0d, end + 1);
      if (end < 0 || end + 1 >= buf.length) break;
      const first = buf[pos]! | 0x20; // lower case
      if (first === 0x6d || first === 0x68) {
        // MSG subject sid [reply] size / HMSG subject sid [reply] hdr-size total-size
        const line = buf.toString("latin1", pos, end);
        const sp = line.search(/[ \t]/);
        const verb = line.slice(0, sp).toUpperCase();
        if (verb === "MSG" || verb === "HMSG") {
          let a = line.slice(sp + 1).split(" ");
          // servers send one space; the protocol allows runs of spaces and tabs
          if (a.includes("") || line.includes("\t")) a = line.slice(sp + 1).trim().split(/[ \t]+/);
          const headed = verb === "HMSG";
          const total = Number(a[a.length - 1]);
          const bodyStart = end + 2;
          if (buf.length < bodyStart + total + 2) break;
          const hdrLen = headed ? Number(a[a.length - 2]) : 0;
          ops.push({
            op: "MSG",
            subject: a[0]!,
            sid: Number(a[1]),
            reply: a.length === (headed ? 5 : 4) ? a[2] : undefined,
            headers: headed ? parseHeaders(buf.toString("utf8", bodyStart, bodyStart + hdrLen)) : undefined,
            payload: buf.subarray(bodyStart + hdrLen, bodyStart + total),
          });
          pos = bodyStart + total + 2;
          continue;
        }
      }
      const line = buf.toString("latin1", pos, end);
      pos = end + 2;
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      if (verb === "PING") ops.push({ op: "PING" });
      else if (verb === "PONG") ops.push({ op: "PONG" });
      else if (verb === "+OK") ops.push({ op: "OK" });
      else if (verb === "-ERR") ops.push({ op: "ERR", message: line.slice(sp + 1).trim().replace(/^'|'$/g, "") });
      else if (verb === "INFO") ops.push({ op: "INFO", info: JSON.parse(line.slice(sp + 1)) });
    }
    this.rest = pos >= buf.length ? EMPTY : buf.subarray(pos);
    return ops;
  }
}

export function parseHeaders(text: string): MsgHeaders {
  const lines = text.split("\r\n");
  const m = /^NATS\/1\.0(?:\s+(\d{3}))?\s*(.*)$/.exec(lines[0] ?? "");
  const values = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c > 0) values.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  return { status: m?.[1] ? Number(m[1]) : undefined, description: m?.[2] ?? "", values };
}

/** HPUB's header block: NATS/1.0, then one "Name: value" per header, then an empty line. */
export function formatHeaders(h: Record<string, string>): string {
  let s = "NATS/1.0\r\n";
  for (const [k, v] of Object.entries(h)) s += `${k}: ${v}\r\n`;
  return s + "\r\n";
}
