/**
 * A JetStream pull consumer over the forwarder's own NATS connection: a durable consumer with
 * explicit acks, fetched in batches through CONSUMER.MSG.NEXT with the replies routed to one
 * inbox subscription, and acked with a reply subject so the ack is confirmed (AckSync) before
 * the collector counts the message as done. A message not acked within ack_wait is delivered
 * again: that is what makes a crash between the write and the ack lose nothing.
 * https://docs.nats.io/reference/reference-protocols/nats_api_reference
 */
import { randomBytes } from "node:crypto";
import { AtoError } from "../errors.ts";
import { NatsConnection, NatsError, type ConnectOptions } from "../forward/nats/connection.ts";

export interface PulledMessage {
  subject: string;
  /** $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending> */
  ackSubject: string;
  payload: Buffer;
  streamSeq: number;
  /** Messages still pending for the consumer after this one. */
  pending: number;
}

export interface PullOptions {
  url: string;
  stream: string;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  timeoutMs: number;
  /** authorization { token } of the server; the connection sends it in CONNECT, nothing prints it. */
  token?: string;
  tls?: ConnectOptions["tls"];
}

export class PullConsumer {
  private readonly inbox = `_INBOX.${randomBytes(8).toString("hex")}`;
  private current: { subject: string; got: PulledMessage[]; want: number; done: () => void } | undefined;
  private nextId = 0;

  private constructor(private readonly conn: NatsConnection, readonly o: PullOptions) {
    conn.subscribe(`${this.inbox}.*`, (m) => {
      // Messages come with their stream subject, status replies with the fetch's inbox subject.
      const c = this.current;
      if (!c) return; // a late message after its fetch ended: delivered again after ack_wait
      const status = m.headers?.status;
      if (status !== undefined && m.payload.length === 0) {
        if (m.subject === c.subject) c.done(); // 404 no messages, 408 request expired, 409
        return;
      }
      if (!m.reply) return;
      const t = m.reply.split(".");
      c.got.push({ subject: m.subject, ackSubject: m.reply, payload: m.payload, streamSeq: Number(t[5]), pending: Number(t[t.length - 1]) });
      if (c.got.length >= c.want) c.done();
    });
  }

  static async open(o: PullOptions): Promise<PullConsumer> {
    let conn: NatsConnection;
    try {
      conn = await NatsConnection.connect({ url: o.url, timeoutMs: o.timeoutMs, token: o.token, tls: o.tls });
    } catch (e) {
      if (e instanceof NatsError) throw new AtoError(`cannot reach JetStream at ${o.url}: ${e.message}`, e.kind === "auth" ? "PERMISSION" : "IO", { cause: e });
      throw e;
    }
    const p = new PullConsumer(conn, o);
    try {
      await p.ensureConsumer();
    } catch (e) {
      conn.close();
      throw e;
    }
    return p;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** Creates the durable consumer, or finds it there from the last run (same config: the server keeps its ack floor). */
  private async ensureConsumer(): Promise<void> {
    const { stream, durable } = this.o;
    const config = { durable_name: durable, ack_policy: "explicit", deliver_policy: "all", ack_wait: this.o.ackWaitMs * 1e6, max_ack_pending: 20_000, filter_subject: this.o.filterSubject };
    const r = await this.api(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`, { stream_name: stream, config });
    if (r.error) throw new AtoError(`JetStream refused the durable consumer ${durable} on stream ${stream}: ${r.error.description} (code ${r.error.code})`, r.error.code === 404 ? "NOT_FOUND" : "CONFIG");
  }

  /** Up to `batch` messages; waits at most `waitMs` for the first (0: only what is there now). */
  async fetch(batch: number, waitMs: number): Promise<PulledMessage[]> {
    const subject = `${this.inbox}.${this.nextId++}`;
    const got: PulledMessage[] = [];
    const req = waitMs > 0 ? { batch, expires: waitMs * 1e6 } : { batch, no_wait: true };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), waitMs + this.o.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.current = undefined;
        resolve();
      };
      this.current = { subject, got, want: batch, done };
      this.conn.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.o.stream}.${this.o.durable}`, subject, undefined, JSON.stringify(req));
    });
    if (this.conn.closed) throw new AtoError(`the connection to JetStream at ${this.o.url} was lost`, "IO");
    return got;
  }

  /** Acks every message and waits until the server confirmed each one. */
  async ack(msgs: PulledMessage[]): Promise<void> {
    if (msgs.length === 0) return;
    const r = await this.conn.requestMany(msgs.map((m) => ({ subject: m.ackSubject, payload: "+ACK" })), this.o.timeoutMs);
    const bad = r.find((x) => x.status === "rejected") as PromiseRejectedResult | undefined;
    if (bad) throw new AtoError(`JetStream did not confirm the acks: ${(bad.reason as Error).message} (they are delivered again)`, "IO", { cause: bad.reason });
  }

  /** Messages not yet delivered, and delivered but not acked (they come again after ack_wait). */
  async outstanding(): Promise<{ pending: number; ackPending: number }> {
    const r = await this.api(`$JS.API.CONSUMER.INFO.${this.o.stream}.${this.o.durable}`, {});
    if (r.error) throw new AtoError(`JetStream consumer ${this.o.durable} on ${this.o.stream}: ${r.error.description}`, "IO");
    return { pending: r.num_pending ?? 0, ackPending: r.num_ack_pending ?? 0 };
  }

  /** The last message stored on `subject`, or undefined when the stream holds none. */
  async lastOf(subject: string): Promise<Buffer | undefined> {
    const r = await this.api(`$JS.API.STREAM.MSG.GET.${this.o.stream}`, { last_by_subj: subject });
    if (r.error) return undefined;
    return Buffer.from(r.message.data ?? "", "base64");
  }

  close(): void {
    this.conn.close();
  }

  private async api(subject: string, body: unknown): Promise<any> {
    try {
      const r = await this.conn.request(subject, undefined, JSON.stringify(body), this.o.timeoutMs);
      if (r.status === 503) return { error: { code: 503, description: "JetStream is not enabled or has no leader" } };
      return JSON.parse(r.payload.toString("utf8"));
    } catch (e) {
      if (e instanceof NatsError) throw new AtoError(`JetStream API ${subject}: ${e.message}`, "IO", { cause: e });
      throw e;
    }
  }
}
