/**
 * The JetStream sink, the fleet transport: each event is published to `<prefix>.<origin>` with
 * `Nats-Msg-Id: <origin>/<seq>`, and a batch counts as delivered when JetStream acknowledged
 * every message (stored on a quorum of the stream's replicas). A batch re-sent after a lost
 * ack, a leader change or a forwarder crash is dropped by the stream's duplicate window, so
 * the stream holds every line exactly once. With ca_file the connection is upgraded to TLS
 * after the server's INFO (cert_file and key_file for servers that verify clients).
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import { eventId, eventJson, type ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { NatsConnection, NatsError, type Reply } from "./connection.ts";

export function subjectFor(prefix: string, origin: string): string {
  return `${prefix}.${origin.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function jetStreamSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const raw = s.raw.servers;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((u) => typeof u === "string" && /^nats:\/\/[^/]+$/.test(u))) {
    throw new AtoError(`${at}: servers must be a list of nats://host:port`, "CONFIG");
  }
  const servers = raw as string[];
  const prefix = typeof s.raw.subject_prefix === "string" ? s.raw.subject_prefix : "ato.evidence";
  const stream = typeof s.raw.stream === "string" ? s.raw.stream : undefined;
  const ackTimeoutMs = typeof s.raw.ack_timeout_ms === "number" ? s.raw.ack_timeout_ms : 5000;
  const token = readSecret(at, s.raw, "token");
  const password = readSecret(at, s.raw, "password");
  const user = typeof s.raw.user === "string" ? s.raw.user : undefined;
  if ("key" in s.raw) throw new AtoError(`${at}: the client key may not be written in the config file; give key_file`, "CONFIG");
  const tls = s.raw.ca_file === undefined ? undefined : { ca: file(at, s.raw, "ca_file"), cert: file(at, s.raw, "cert_file"), key: file(at, s.raw, "key_file"), serverName: typeof s.raw.server_name === "string" ? s.raw.server_name : undefined };
  let conn: NatsConnection | undefined;
  let next = 0;
  const expect = stream ? `Nats-Expected-Stream: ${stream}\r\n` : "";
  const subjects = new Map<string, string>();
  const subject = (origin: string) => subjects.get(origin) ?? (subjects.set(origin, subjectFor(prefix, origin)), subjects.get(origin)!);

  let dialing: Promise<NatsConnection> | undefined;

  /** The live connection, or one dial shared by every batch in flight that asks meanwhile. */
  function connection(): Promise<NatsConnection> {
    if (conn && !conn.closed) return Promise.resolve(conn);
    dialing ??= dial().finally(() => (dialing = undefined));
    return dialing;
  }

  async function dial(): Promise<NatsConnection> {
    const errors: string[] = [];
    for (let i = 0; i < servers.length; i++) {
      const url = servers[(next + i) % servers.length] as string;
      try {
        conn = await NatsConnection.connect({ url, token: token?.reveal(), user, password: password?.reveal(), timeoutMs: 3000, tls });
        next = (next + i + 1) % servers.length;
        return conn;
      } catch (e) {
        if (!(e instanceof NatsError)) throw e;
        if (e.kind === "auth") throw new SinkError(e.message, "refused");
        errors.push(e.message);
      }
    }
    next = (next + 1) % servers.length;
    throw new SinkError(`no NATS server answered (${errors.join("; ")})`, "unreachable");
  }

  return {
    name: s.name,
    type: "jetstream",
    // One batch at a time: ato collect writes each origin's lines in the order the stream holds
    // them, and with batches overlapping, a batch re-sent after a leader change could land behind a
    // later one (a "late" line, a gap in the rebuilt log). Within the batch, publishes are pipelined
    // and acks matched by inbox; on loopback windows of 1, 4 and 16 measured the same (the quorum
    // sets the rate). A sink whose consumer reorders may set batch.window.
    window: 1,
    async send(events: ForwardEvent[]) {
      const c = await connection();
      const max = Number(c.info.max_payload ?? 1 << 20);
      const msgs = new Array<{ subject: string; headers: string; payload: string }>(events.length);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        const payload = eventJson(e);
        // JSON text is mostly ASCII: its length is its size unless a line holds other characters
        if (payload.length > (max - 256) / 3 && Buffer.byteLength(payload) > max - 256) throw new SinkError(`the event of seq ${e.seq} exceeds the server's max_payload of ${max} bytes`, "too-large");
        msgs[i] = { subject: subject(e.origin), headers: `NATS/1.0\r\nNats-Msg-Id: ${eventId(e)}\r\n${expect}\r\n`, payload };
      }
      const acks = await c.requestMany(msgs, ackTimeoutMs);
      const ackPrefix = stream ? `{"stream":${JSON.stringify(stream)},` : undefined;
      const failures: SinkError[] = [];
      for (let i = 0; i < acks.length; i++) {
        const a = acks[i]!;
        const f = a.status === "rejected" ? fromNatsError(a.reason) : checkAck(a.value, stream, events[i]!, ackPrefix);
        if (f) failures.push(f);
      }
      if (failures.length === 0) return;
      // A timed-out ack may mean a dead peer behind a live socket: start over on a fresh connection.
      if (failures.some((f) => f.failure === "unreachable")) c.close();
      throw failures.find((f) => !f.retryable) ?? failures[0]!;
    },
    async close() {
      conn?.close();
    },
  };
}

function file(at: string, raw: Record<string, unknown>, k: string): Buffer | undefined {
  const p = raw[k];
  if (p === undefined) return undefined;
  try {
    return readFileSync(p as string);
  } catch (e) {
    throw new AtoError(`${at}: cannot read ${k} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "CONFIG", { cause: e });
  }
}

function fromNatsError(e: unknown): SinkError {
  if (e instanceof NatsError) return new SinkError(e.message, "unreachable");
  throw e;
}

function checkAck(r: Reply, stream: string | undefined, e: ForwardEvent, okPrefix?: string): SinkError | undefined {
  // The usual answer, {"stream":"S","seq":N} (maybe with "duplicate"), is recognised without parsing it.
  if (r.status === undefined && okPrefix && r.payload.length < 200) {
    const text = r.payload.toString("latin1");
    if (text.startsWith(okPrefix) && !text.includes('"error"')) return undefined;
  }
  if (r.status === 503) return new SinkError("no JetStream stream answered (no leader elected yet, or no stream takes the subject)", "throttled");
  if (r.status !== undefined && r.status >= 400) return new SinkError(`JetStream answered ${r.status} ${r.description}`, "throttled");
  let ack: { stream?: string; seq?: number; error?: { code?: number; err_code?: number; description?: string } };
  try {
    ack = JSON.parse(r.payload.toString("utf8"));
  } catch {
    return new SinkError(`JetStream's ack for seq ${e.seq} is not JSON`, "rejected");
  }
  if (ack.error) {
    const what = `JetStream refused seq ${e.seq}: ${ack.error.description ?? "error"} (code ${ack.error.code}, err_code ${ack.error.err_code})`;
    if (ack.error.code === 503 || ack.error.code === 500) return new SinkError(what, "throttled");
    if (ack.error.code === 413) return new SinkError(what, "too-large");
    if (ack.error.code === 401 || ack.error.code === 403) return new SinkError(what, "refused");
    return new SinkError(what, "rejected");
  }
  if (stream && ack.stream !== stream) return new SinkError(`seq ${e.seq} was stored in stream ${ack.stream}, not ${stream}`, "rejected");
  return undefined;
}
