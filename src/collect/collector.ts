/**
 * `ato collect`'s loop: fetch a batch from the durable consumer, write each line into its
 * origin's rebuilt directory, fsync every directory the batch touched, and only then ack the
 * batch. A crash before the ack means the batch comes again and the held seqs skip what was
 * already written: nothing lost, nothing doubled. Each touched origin is verified again at
 * most every `verifyEveryMs` (and at the end of a --once drain).
 */
import { readdirSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { subjectFor } from "../forward/nats/sink.ts";
import { checkOrigin, type OriginStatus } from "./check.ts";
import { createCollectMetrics, exportStatus } from "./metrics.ts";
import { OriginDir, originOfDirName } from "./origin.ts";
import { PullConsumer, type PulledMessage, type PullOptions } from "./pull.ts";

export interface CollectOptions {
  url: string;
  stream: string;
  durable: string;
  subjectPrefix: string;
  out: string;
  pubkeys: string[];
  batch: number;
  verifyEveryMs: number;
  /** How long a delivered message may stay unacked before JetStream delivers it again. */
  ackWaitMs: number;
  once: boolean;
  token?: string;
  tls?: PullOptions["tls"];
  onStatus?: (s: OriginStatus) => void;
}

export class Collector {
  readonly metrics = createCollectMetrics();
  readonly origins = new Map<string, OriginDir>();
  readonly status = new Map<string, OriginStatus>();
  private readonly checkedAt = new Map<string, number>();
  private readonly touched = new Set<string>();
  private stopping = false;

  private constructor(private readonly o: CollectOptions, private readonly pull: PullConsumer) {
    for (const name of readdirSync(o.out)) if (!name.startsWith(".")) this.originDir(originOfDirName(name));
  }

  static async create(o: CollectOptions): Promise<Collector> {
    // Both become tokens of JetStream API subjects: a dot or a wildcard would name something else.
    for (const [what, v] of [["--stream", o.stream], ["--durable", o.durable]]) {
      if (!/^[A-Za-z0-9_-]+$/.test(v!)) throw new AtoError(`${what} may hold only letters, digits, _ and -: ${v}`, "USAGE");
    }
    const pull = await PullConsumer.open({ url: o.url, stream: o.stream, durable: o.durable, filterSubject: `${o.subjectPrefix}.>`, ackWaitMs: o.ackWaitMs, timeoutMs: 5000, token: o.token, tls: o.tls });
    return new Collector(o, pull);
  }

  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    try {
      await this.awaitRedelivery();
      while (!this.stopping) {
        const msgs = await this.pull.fetch(this.o.batch, this.o.once ? 0 : 1000);
        if (msgs.length > 0) await this.take(msgs);
        else if (this.o.once && (await this.drained())) break;
        await this.check(false);
      }
      await this.check(true);
    } finally {
      this.pull.close();
      for (const d of this.origins.values()) d.close();
    }
  }

  /**
   * Messages a previous run took and never acked (it died between the fetch and the ack) come
   * again once their ack_wait runs out, and then before any new message. Fetching sooner would
   * bring later lines first, and a line written after its successor cannot be put back.
   */
  private async awaitRedelivery(): Promise<void> {
    const o = await this.pull.outstanding();
    if (o.ackPending > 0) await Bun.sleep(this.o.ackWaitMs + 500);
  }

  /** Nothing left to deliver, and nothing a previous run took without acking (it is redelivered after ack_wait). */
  private async drained(): Promise<boolean> {
    const o = await this.pull.outstanding();
    this.metrics.pending.set(o.pending);
    if (o.pending === 0 && o.ackPending === 0) return true;
    await Bun.sleep(200);
    return false;
  }

  private async take(msgs: PulledMessage[]): Promise<void> {
    const dirs = new Set<OriginDir>();
    // Redelivered messages may come in any order within a batch: each origin's lines go in by seq.
    const events = msgs.map(parseEvent).sort((x, y) => (x.origin < y.origin ? -1 : x.origin > y.origin ? 1 : x.seq - y.seq));
    for (const e of events) {
      const d = this.originDir(e.origin);
      if (d.add(e.seq, e.line)) this.metrics.written.inc({ origin: e.origin });
      dirs.add(d);
      this.touched.add(e.origin);
    }
    for (const d of dirs) d.sync();
    await this.pull.ack(msgs);
    this.metrics.pending.set(msgs.at(-1)!.pending);
  }

  private async check(all: boolean): Promise<void> {
    const now = Date.now();
    for (const origin of all ? [...this.origins.keys()] : [...this.touched]) {
      if (!all && now - (this.checkedAt.get(origin) ?? 0) < this.o.verifyEveryMs) continue;
      const d = this.origins.get(origin)!;
      const s = checkOrigin(d, this.o.pubkeys, await this.behind(d));
      this.checkedAt.set(origin, now);
      this.touched.delete(origin);
      this.status.set(origin, s);
      exportStatus(this.metrics, s);
      this.o.onStatus?.(s);
    }
  }

  /** The stream's last seq for the origin minus the last one written. */
  private async behind(d: OriginDir): Promise<number> {
    const last = await this.pull.lastOf(subjectFor(this.o.subjectPrefix, d.origin));
    if (!last) return 0;
    try {
      const seq = JSON.parse(last.toString("utf8")).seq;
      return Number.isSafeInteger(seq) ? Math.max(0, seq + 1 - d.next) : 0;
    } catch {
      return 0;
    }
  }

  private originDir(origin: string): OriginDir {
    let d = this.origins.get(origin);
    if (!d) this.origins.set(origin, (d = new OriginDir(origin, this.o.out)));
    return d;
  }
}

function parseEvent(m: PulledMessage): { origin: string; seq: number; line: string } {
  let o: any;
  try {
    o = JSON.parse(m.payload.toString("utf8"));
  } catch (e) {
    throw new AtoError(`stream message ${m.streamSeq} on ${m.subject} is not a JSON event`, "CORRUPT", { cause: e });
  }
  if (typeof o?.origin !== "string" || !Number.isSafeInteger(o.seq) || typeof o.line !== "string") {
    throw new AtoError(`stream message ${m.streamSeq} on ${m.subject} is not a forwarded event (origin, seq and line are required)`, "CORRUPT");
  }
  return o;
}
