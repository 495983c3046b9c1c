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

const CRLF = Buffer.from("\r\n");

export class ProtocolParser {
  private buf: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): ServerOp[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const ops: ServerOp[] = [];
    for (;;) {
      const end = this.buf.indexOf(CRLF);
      if (end < 0) break;
      const line = this.buf.subarray(0, end).toString("latin1");
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      if (verb === "MSG" || verb === "HMSG") {
        const m = this.message(verb, line.slice(sp + 1).trim().split(/\s+/), end + 2);
        if (!m) break;
        ops.push(m);
        continue;
      }
      this.buf = this.buf.subarray(end + 2);
      if (verb === "PING") ops.push({ op: "PING" });
      else if (verb === "PONG") ops.push({ op: "PONG" });
      else if (verb === "+OK") ops.push({ op: "OK" });
      else if (verb === "-ERR") ops.push({ op: "ERR", message: line.slice(sp + 1).trim().replace(/^'|'$/g, "") });
      else if (verb === "INFO") ops.push({ op: "INFO", info: JSON.parse(line.slice(sp + 1)) });
    }
    return ops;
  }

  private message(verb: string, a: string[], bodyStart: number): ServerOp | undefined {
    const headed = verb === "HMSG";
    const withReply = a.length === (headed ? 5 : 4);
    const total = Number(a[a.length - 1]);
    const hdrLen = headed ? Number(a[a.length - 2]) : 0;
    if (this.buf.length < bodyStart + total + 2) return undefined;
    const body = this.buf.subarray(bodyStart, bodyStart + total);
    this.buf = this.buf.subarray(bodyStart + total + 2);
    return {
      op: "MSG",
      subject: a[0]!,
      sid: Number(a[1]),
      reply: withReply ? a[2] : undefined,
      headers: headed ? parseHeaders(body.subarray(0, hdrLen).toString("utf8")) : undefined,
      payload: Buffer.from(body.subarray(hdrLen)),
    };
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
