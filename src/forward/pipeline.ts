/**
 * One sink's loop: read a batch from its cursor, deliver it, save the cursor, again. The
 * cursor is saved only after the sink acknowledged the batch (at-least-once); when the save
 * fails (full disk) forwarding pauses and the save is retried, so a crash then re-sends at
 * most one batch. A partial batch waits up to `lingerMs` for more lines.
 */
import { AtoError } from "../errors.ts";
import { cursorPath, loadCursor, saveCursor, type Cursor } from "./cursor.ts";
import { deliver, Stopped } from "./deliver.ts";
import type { ForwardMetrics } from "./metrics.ts";
import { LogReader, type Batch } from "./reader.ts";
import { backoffMs, sleep, type RetryPolicy } from "./retry.ts";
import type { Sink } from "./sink.ts";
import { traced, type Tracer } from "../trace/index.ts";

export interface BatchLimits {
  records: number;
  bytes: number;
  lingerMs: number;
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
}

export interface SinkStatus {
  sink: string;
  cursor: Cursor | undefined;
  lagRecords: number;
  lagSeconds: number;
  /** When the sink last acknowledged a batch or was caught up (ms since the epoch). */
  progressAt: number;
}

export class SinkPipeline {
  private cursor: Cursor | undefined;
  private readonly reader: LogReader;
  private readonly path: string;
  private progressAt = Date.now();
  private lag = { records: 0, seconds: 0 };
  private head: { size: number; at: number } | undefined;
  private oldestTs: string | undefined;

  constructor(readonly sink: Sink, private readonly o: PipelineOptions) {
    this.path = cursorPath(o.stateDir, sink.name);
    this.reader = new LogReader(o.auditDir, `the cursor of sink ${sink.name} (${this.path})`);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      this.cursor = this.reader.start(loadCursor(this.path));
      while (!this.cursor && !this.o.once && !signal.aborted) {
        await sleep(this.o.pollMs, signal);
        this.cursor = this.reader.start(undefined);
      }
      if (this.cursor) await this.loop(this.cursor, signal);
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
    } finally {
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
    let cursor = start;
    let lingerSince: number | undefined;
    while (!signal.aborted) {
      const batch = this.reader.read(cursor, limits);
      this.observe(batch);
      if (batch.events.length === 0) {
        this.progressAt = Date.now();
        if (this.o.once) return;
        await sleep(this.o.pollMs, signal);
        continue;
      }
      const full = batch.events.length >= limits.records || batch.next.offset - cursor.offset >= limits.bytes * 0.9 || batch.next.segment !== cursor.segment;
      if (!this.o.once && !full) {
        lingerSince ??= Date.now();
        const left = lingerSince + limits.lingerMs - Date.now();
        if (left > 0) {
          await sleep(Math.min(left, this.o.pollMs), signal);
          continue;
        }
      }
      lingerSince = undefined;
      await traced(this.o.tracer, "ato.forward.batch", { sink: this.sink.name, records: batch.events.length, first_seq: batch.events[0]!.seq }, () => deliver(ctx, batch.events),
        () => ({ bytes: batch.events.reduce((n, e) => n + Buffer.byteLength(e.line) + 1, 0) })); // the log lines' bytes, counted only when traced
      await this.save(batch.next, signal);
      cursor = this.cursor = batch.next;
      this.progressAt = Date.now();
      metrics.cursorSeq.set({ sink: this.sink.name }, cursor.seq);
      metrics.cursorSegment.set({ sink: this.sink.name }, cursor.segment);
    }
  }

  private async save(c: Cursor, signal: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        saveCursor(this.path, c);
        if (attempt > 0) this.o.log(`sink ${this.sink.name}: cursor saved again`);
        return;
      } catch (e) {
        if (!(e instanceof AtoError) || e.code !== "IO") throw e;
        this.o.metrics.cursorErrors.inc({ sink: this.sink.name });
        if (this.o.once) throw e;
        if (attempt % 10 === 0) this.o.log(`sink ${this.sink.name}: ${e.message}; forwarding pauses until it can be saved`);
        await sleep(backoffMs(attempt, this.o.retry), signal);
        if (signal.aborted) throw new Stopped();
      }
    }
  }

  /** Lag in records against the log's head (read at most every 250 ms), and the age of the oldest unsent line. */
  private observe(b: Batch): void {
    const now = Date.now();
    const from = b.events[0]?.seq ?? b.next.seq;
    if (!this.head || now - this.head.at > 250 || b.next.seq > this.head.size) this.head = { size: this.reader.head()?.size ?? 0, at: now };
    const records = Math.max(0, this.head.size - from);
    this.oldestTs = records > 0 ? b.events[0]?.ts : undefined;
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
