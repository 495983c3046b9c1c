/**
 * One sink's loop: read a batch from the log, send it, and keep up to `window` batches in
 * flight at once (a sink that answers per message, like JetStream or RELP, then spends its
 * round trips in parallel instead of one after another). The cursor advances only to the end
 * of the highest batch that every batch before it was acknowledged too (at-least-once, in
 * order), and is saved after that: every batch with window 1, at most every `saveEveryMs`
 * otherwise, always when caught up or stopping. A save that fails (full disk) pauses
 * forwarding until it succeeds, so a crash re-sends at most what was in flight and unsaved.
 * A partial batch waits up to `lingerMs` for more lines.
 */
import { AtoError } from "../errors.ts";
import { cursorPath, loadCursor, saveCursor, type Cursor } from "./cursor.ts";
import { deliver, Stopped, type DeliverContext } from "./deliver.ts";
import type { ForwardMetrics } from "./metrics.ts";
import { LogReader, type Batch } from "./reader.ts";
import { backoffMs, sleep, type RetryPolicy } from "./retry.ts";
import type { Sink } from "./sink.ts";
import { traced, type Tracer } from "../trace/index.ts";

export interface BatchLimits {
  records: number;
  bytes: number;
  lingerMs: number;
  /** Batches in flight at once; default: what the sink says it can take (Sink.window), else 1. */
  window?: number;
}

export interface PipelineOptions {
  auditDir: string;
  stateDir: string;
  batch: BatchLimits;
  retry: RetryPolicy;
  /** How often an idle forwarder looks for new lines. */
  pollMs: number;
  /** Drain what the log holds now, then return. */
  once: boolean;
  metrics: ForwardMetrics;
  log: (message: string) => void;
  /** A span per delivered batch (src/trace) when tracing is on. */
  tracer?: Tracer;
  /** With a window over 1: the cursor is saved at most this often while batches keep coming. */
  saveEveryMs?: number;
}

export interface SinkStatus {
  sink: string;
  cursor: Cursor | undefined;
  lagRecords: number;
  lagSeconds: number;
  /** When the sink last acknowledged a batch or was caught up (ms since the epoch). */
  progressAt: number;
}

/** A batch sent and not yet settled; `done` never rejects (a fatal error is its value). */
interface Flight {
  batch: Batch;
  done: Promise<unknown>;
}

export class SinkPipeline {
  private cursor: Cursor | undefined;
  private readonly reader: LogReader;
  private readonly path: string;
  private readonly window: number;
  private progressAt = Date.now();
  private lag = { records: 0, seconds: 0 };
  private head: { size: number; at: number } | undefined;
  private oldestTs: string | undefined;
  private saved: { seq: number; at: number } = { seq: -1, at: 0 };

  constructor(readonly sink: Sink, private readonly o: PipelineOptions) {
    this.path = cursorPath(o.stateDir, sink.name);
    this.reader = new LogReader(o.auditDir, `the cursor of sink ${sink.name} (${this.path})`);
    this.window = Math.max(1, o.batch.window ?? sink.window ?? 1);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      this.cursor = this.reader.start(loadCursor(this.path));
      while (!this.cursor && !this.o.once && !signal.aborted) {
        await sleep(this.o.pollMs, signal);
        this.cursor = this.reader.start(undefined);
      }
      if (this.cursor) {
        this.saved = { seq: this.cursor.seq, at: 0 };
        await this.loop(this.cursor, signal);
      }
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
    } finally {
      this.lastSave();
      this.reader.close();
    }
  }

  status(): SinkStatus {
    this.refresh();
    return { sink: this.sink.name, cursor: this.cursor, lagRecords: this.lag.records, lagSeconds: this.lag.seconds, progressAt: this.progressAt };
  }

  private async loop(start: Cursor, signal: AbortSignal): Promise<void> {
    const { batch: limits, metrics } = this.o;
    const ctx = { sink: this.sink, retry: this.o.retry, metrics, log: this.o.log, signal };
    const flights: Flight[] = [];
    let readAt = start;
    let lingerSince: number | undefined;
    while (!signal.aborted) {
      if (flights.length >= this.window) {
        await this.land(flights);
        continue;
      }
      const batch = this.reader.read(readAt, limits);
      this.observe(flights[0]?.batch ?? batch, batch.next.seq);
      if (batch.events.length === 0) {
        if (flights.length > 0) {
          await this.land(flights);
          continue;
        }
        await this.caughtUp(signal);
        if (this.o.once) return;
        await sleep(this.o.pollMs, signal);
        continue;
      }
      const full = batch.events.length >= limits.records || batch.next.offset - readAt.offset >= limits.bytes * 0.9 || batch.next.segment !== readAt.segment;
      if (!this.o.once && !full) {
        if (flights.length > 0) {
          await this.land(flights); // the acks first: the batch may fill meanwhile
          continue;
        }
        lingerSince ??= Date.now();
        const left = lingerSince + limits.lingerMs - Date.now();
        if (left > 0) {
          await sleep(Math.min(left, this.o.pollMs), signal);
          continue;
        }
      }
      lingerSince = undefined;
      // A retry waits until every earlier batch is in: after a failure the sink gets the
      // lines again in log order, not in the order their backoffs happen to end.
      const done = this.send(ctx, batch, flights.at(-1)?.done).then(() => undefined, (e: unknown) => e ?? new Error("undefined rejection"));
      flights.push({ batch, done });
      readAt = batch.next;
    }
    // Stopping: what was acknowledged still moves the cursor, up to the first batch given up
    // (that one and the rest are sent again next time).
    while (flights.length > 0) await this.land(flights);
  }

  /** Sends one batch until the sink acknowledges it (the one call a trace span goes around). */
  private send(ctx: DeliverContext, batch: Batch, before: Promise<unknown> | undefined): Promise<void> {
    return traced(this.o.tracer, "ato.forward.batch", { sink: this.sink.name, records: batch.events.length, first_seq: batch.events[0]!.seq }, () => deliver(ctx, batch.events, before),
      () => ({ bytes: batch.events.reduce((n, e) => n + Buffer.byteLength(e.line) + 1, 0) })); // the log lines' bytes, counted only when traced
  }

  /** Waits for the oldest batch in flight; its acknowledgement moves the cursor. */
  private async land(flights: Flight[]): Promise<void> {
    const f = flights.shift()!;
    const failure = await f.done;
    if (failure !== undefined) throw failure;
    this.cursor = f.batch.next;
    this.progressAt = Date.now();
    this.o.metrics.cursorSeq.set({ sink: this.sink.name }, this.cursor.seq);
    this.o.metrics.cursorSegment.set({ sink: this.sink.name }, this.cursor.segment);
    if (this.window === 1 || flights.length === 0 || Date.now() - this.saved.at >= (this.o.saveEveryMs ?? 1000)) await this.save(this.cursor);
  }

  private async caughtUp(signal: AbortSignal): Promise<void> {
    this.progressAt = Date.now();
    if (this.cursor && this.saved.seq !== this.cursor.seq) await this.save(this.cursor, signal);
  }

  /** Ending, for whatever reason: what was acknowledged and not yet saved is saved, if the disk lets it. */
  private lastSave(): void {
    if (!this.cursor || this.saved.seq === this.cursor.seq) return;
    try {
      saveCursor(this.path, this.cursor);
      this.saved = { seq: this.cursor.seq, at: Date.now() };
    } catch (e) {
      if (!(e instanceof AtoError) || e.code !== "IO") throw e;
    }
  }

  private async save(c: Cursor, signal?: AbortSignal): Promise<void> {
    if (this.saved.seq === c.seq) return;
    for (let attempt = 0; ; attempt++) {
      try {
        saveCursor(this.path, c);
        this.saved = { seq: c.seq, at: Date.now() };
        if (attempt > 0) this.o.log(`sink ${this.sink.name}: cursor saved again`);
        return;
      } catch (e) {
        if (!(e instanceof AtoError) || e.code !== "IO") throw e;
        this.o.metrics.cursorErrors.inc({ sink: this.sink.name });
        if (this.o.once) throw e;
        if (attempt % 10 === 0) this.o.log(`sink ${this.sink.name}: ${e.message}; forwarding pauses until it can be saved`);
        await sleep(backoffMs(attempt, this.o.retry), signal);
        if (signal?.aborted) throw new Stopped();
      }
    }
  }

  /** Lag in records against the log's head (read at most every 250 ms), and the age of the oldest unacknowledged line. */
  private observe(oldest: Batch, readTo: number): void {
    const now = Date.now();
    const from = oldest.events[0]?.seq ?? oldest.next.seq;
    if (!this.head || now - this.head.at > 250 || readTo > this.head.size) this.head = { size: this.reader.head()?.size ?? 0, at: now };
    const records = Math.max(0, this.head.size - from);
    this.oldestTs = records > 0 ? oldest.events[0]?.ts : undefined;
    this.lag = { records, seconds: 0 };
    this.refresh();
  }

  /** Updates the lag gauges (the age of the oldest unsent line grows while a sink is down). */
  refresh(now = Date.now()): void {
    this.lag.seconds = this.oldestTs ? Math.max(0, (now - Date.parse(this.oldestTs)) / 1000) : 0;
    this.o.metrics.lagRecords.set({ sink: this.sink.name }, this.lag.records);
    this.o.metrics.lagSeconds.set({ sink: this.sink.name }, this.lag.seconds);
  }
}
