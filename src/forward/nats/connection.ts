/**
 * One connection to a NATS server over TCP, enough of the client protocol for JetStream
 * publishing: the INFO/CONNECT handshake (checked with PING/PONG, so a refused credential is
 * an error here and not later), HPUB with headers, one wildcard inbox subscription that
 * replies are routed through, PING answered with PONG. When the socket dies every waiting
 * request fails at once; the caller reconnects (to the next server of its list).
 */
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { randomBytes } from "node:crypto";
import { formatHeaders, ProtocolParser, type ServerOp } from "./protocol.ts";

export interface ConnectOptions {
  /** nats://host:port */
  url: string;
  token?: string;
  user?: string;
  password?: string;
  timeoutMs: number;
  /** TLS after the server's INFO (NATS upgrades the connection in place); a client certificate for mutual TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string };
}

const CERT_REFUSED = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNKNOWN_CA/;

function tlsWhy(code: string, name: string): string {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `the certificate is not for ${name}`;
  if (/ALERT_(BAD|UNKNOWN|UNSUPPORTED)_CERTIFICATE|CERTIFICATE_REQUIRED|ALERT_UNKNOWN_CA/.test(code)) return "the server refused our client certificate, or wants one";
  return "the server's certificate is not trusted (check ca_file)";
}

export interface Reply {
  status: number | undefined;
  description: string;
  payload: Buffer;
}

export class NatsError extends Error {
  constructor(message: string, readonly kind: "unreachable" | "auth" | "protocol" | "timeout") {
    super(message);
  }
}

type Waiter = { resolve: (r: Reply) => void; reject: (e: Error) => void };

export class NatsConnection {
  info: Record<string, unknown> = {};
  private readonly parser = new ProtocolParser();
  private readonly inbox = `_INBOX.${randomBytes(8).toString("hex")}`;
  private readonly waiting = new Map<string, Waiter>();
  private readonly subs = new Map<number, (op: Extract<ServerOp, { op: "MSG" }>) => void>();
  private nextId = 0;
  private nextSid = 2;
  private dead: Error | undefined;
  private pongs: (() => void)[] = [];

  private constructor(private socket: Socket, readonly url: string) {}

  get closed(): boolean {
    return this.dead !== undefined;
  }

  static connect(o: ConnectOptions): Promise<NatsConnection> {
    const u = new URL(o.url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port || 4222);
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host, port });
      const c = new NatsConnection(socket, o.url);
      const timer = setTimeout(() => fail(new NatsError(`no answer from ${o.url} within ${o.timeoutMs} ms`, "timeout")), o.timeoutMs);
      let started = false;
      let ready = false;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        clearTimeout(timer);
        c.die(e);
        reject(e);
      };
      const hello = () => {
        const auth = o.token ? { auth_token: o.token } : o.user ? { user: o.user, pass: o.password ?? "" } : {};
        const body = { verbose: false, pedantic: false, headers: true, no_responders: true, lang: "ato", version: "1", protocol: 1, tls_required: o.tls !== undefined, ...auth };
        c.socket.write(`CONNECT ${JSON.stringify(body)}\r\nSUB ${c.inbox}.* 1\r\nPING\r\n`);
        c.pongs.push(() => {
          ready = true;
          clearTimeout(timer);
          resolve(c);
        });
      };
      const upgrade = (t: NonNullable<ConnectOptions["tls"]>) => {
        socket.off("data", onData);
        const secure = tlsConnect({ socket, servername: t.serverName ?? host, ca: t.ca, cert: t.cert, key: t.key, minVersion: "TLSv1.2" });
        secure.once("secureConnect", () => {
          c.socket = secure;
          hello();
        });
        secure.on("data", onData);
        secure.on("error", (e: NodeJS.ErrnoException) => {
          const code = e.code ?? "";
          if (!ready && CERT_REFUSED.test(code)) fail(new NatsError(`TLS with ${o.url} refused: ${tlsWhy(code, t.serverName ?? host)} (${code})`, "auth"));
          else fail(new NatsError(`the TLS connection to ${o.url} failed: ${code || e.message}`, ready ? "unreachable" : "protocol"));
        });
      };
      const onData = (chunk: Buffer) => {
        for (const op of c.parser.feed(chunk)) {
          if (op.op === "INFO" && !started) {
            started = true;
            c.info = op.info;
            if (op.info.tls_required && !o.tls) return fail(new NatsError(`${o.url} requires TLS: give ca_file (and cert_file, key_file if it verifies clients)`, "auth"));
            if (o.tls) return upgrade(o.tls); // nothing more comes in the clear
            hello();
          } else if (op.op === "ERR" && !ready) {
            const auth = /authori[sz]ation|authentication|certificate|tls/i.test(op.message);
            fail(new NatsError(`${o.url} refused the connection: ${op.message}`, auth ? "auth" : "protocol"));
          } else if (op.op === "ERR") {
            c.die(new NatsError(`${o.url} says: ${op.message}`, "protocol"));
          } else c.handle(op);
        }
      };
      socket.on("error", (e: NodeJS.ErrnoException) => fail(new NatsError(`cannot reach ${o.url}: ${e.code ?? e.message}`, "unreachable")));
      socket.on("close", () => {
        const e = new NatsError(`the connection to ${o.url} closed`, "unreachable");
        if (!ready) fail(e);
        else c.die(e);
      });
      socket.on("data", onData);
    });
  }

  /** Publishes with headers and waits for the reply on the inbox (JetStream's ack). */
  async request(subject: string, headers: Record<string, string> | undefined, payload: string | Buffer, timeoutMs: number): Promise<Reply> {
    const [r] = await this.requestMany([{ subject, headers, payload }], timeoutMs);
    if (r!.status === "rejected") throw r!.reason;
    return r!.value;
  }

  /**
   * Publishes every message in one write and waits for all replies, with one timer for the
   * lot: what is unanswered when it fires fails with a timeout. Replies are matched by their
   * inbox subject as they come, in any order; several calls may be in flight at once.
   */
  requestMany(msgs: { subject: string; headers?: Record<string, string> | string; payload: string | Buffer }[], timeoutMs: number): Promise<PromiseSettledResult<Reply>[]> {
    if (this.dead) return Promise.resolve(msgs.map(() => ({ status: "rejected", reason: this.dead }) as PromiseRejectedResult));
    return new Promise((resolve) => {
      const results: PromiseSettledResult<Reply>[] = new Array(msgs.length);
      const replies: string[] = new Array(msgs.length);
      let left = msgs.length;
      const timer = setTimeout(() => {
        for (const r of replies) this.waiting.get(r)?.reject(new NatsError(`no reply from ${this.url} within ${timeoutMs} ms`, "timeout"));
      }, timeoutMs);
      const settle = (reply: string, i: number, r: PromiseSettledResult<Reply>) => {
        if (!this.waiting.delete(reply)) return;
        results[i] = r;
        if (--left === 0) {
          clearTimeout(timer);
          resolve(results);
        }
      };
      let wire = "";
      const buffers: Buffer[] = [];
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        const reply = `${this.inbox}.${this.nextId++}`;
        replies[i] = reply;
        this.waiting.set(reply, { resolve: (value) => settle(reply, i, { status: "fulfilled", value }), reject: (reason) => settle(reply, i, { status: "rejected", reason }) });
        if (typeof m.payload === "string") wire += frame(m.subject, reply, m.headers, m.payload);
        else buffers.push(Buffer.from(wire), frameBuffer(m.subject, reply, m.headers, m.payload)), (wire = "");
      }
      if (msgs.length === 0) {
        clearTimeout(timer);
        return resolve(results);
      }
      if (buffers.length > 0) this.socket.write(Buffer.concat([...buffers, Buffer.from(wire)]));
      else this.socket.write(wire);
    });
  }

  publish(subject: string, reply: string | undefined, headers: Record<string, string> | undefined, payload: string | Buffer): void {
    this.socket.write(typeof payload === "string" ? frame(subject, reply, headers, payload) : frameBuffer(subject, reply, headers, payload));
  }

  /** Messages on `subject` go to `onMsg` (tests read a stream back through a push consumer). */
  subscribe(subject: string, onMsg: (m: Extract<ServerOp, { op: "MSG" }>) => void): number {
    const sid = this.nextSid++;
    this.subs.set(sid, onMsg);
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  newInbox(): string {
    return `${this.inbox}.${this.nextId++}`;
  }

  close(): void {
    this.die(new NatsError(`the connection to ${this.url} was closed`, "unreachable"));
  }

  private handle(op: ServerOp): void {
    if (op.op === "PING") this.socket.write("PONG\r\n");
    else if (op.op === "PONG") this.pongs.shift()?.();
    else if (op.op === "MSG" && op.sid === 1) {
      const w = this.waiting.get(op.subject);
      if (!w) return; // a reply after its timeout
      w.resolve({ status: op.headers?.status, description: op.headers?.description ?? "", payload: op.payload });
    } else if (op.op === "MSG") this.subs.get(op.sid)?.(op);
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.socket.destroy();
  }
}

const CRLF = Buffer.from("\r\n");

/** PUB, or HPUB when there are headers (given as a map, or already formatted: ASCII, so its length is its size). */
function frame(subject: string, reply: string | undefined, headers: Record<string, string> | string | undefined, payload: string): string {
  const r = reply ? ` ${reply}` : "";
  const size = Buffer.byteLength(payload);
  const h = typeof headers === "string" ? headers : headers ? formatHeaders(headers) : undefined;
  return h ? `HPUB ${subject}${r} ${h.length} ${h.length + size}\r\n${h}${payload}\r\n` : `PUB ${subject}${r} ${size}\r\n${payload}\r\n`;
}

function frameBuffer(subject: string, reply: string | undefined, headers: Record<string, string> | string | undefined, payload: Buffer): Buffer {
  const r = reply ? ` ${reply}` : "";
  const h = typeof headers === "string" ? headers : headers ? formatHeaders(headers) : undefined;
  const op = h ? `HPUB ${subject}${r} ${h.length} ${h.length + payload.length}\r\n${h}` : `PUB ${subject}${r} ${payload.length}\r\n`;
  return Buffer.concat([Buffer.from(op), payload, CRLF]);
}
