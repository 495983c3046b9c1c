/**
 * The forwarder: one pipeline per sink over the same log, each with its own cursor, run side
 * by side so a slow or absent sink never holds back another. A sink that ends with an error
 * (refused credentials, a log replaced under its cursor) stops the forwarder with that error:
 * it needs a person, and a supervisor restarting it in a loop would only repeat it.
 */
import type { ForwardConfig } from "./config.ts";
import { createForwardMetrics, type ForwardMetrics } from "./metrics.ts";
import { SinkPipeline, type SinkStatus } from "./pipeline.ts";
import type { Sink } from "./sink.ts";
import { createSink } from "./sinks/index.ts";
import type { Tracer } from "../trace/index.ts";

export interface ForwarderOptions {
  auditDir: string;
  config: ForwardConfig;
  once?: boolean;
  log?: (message: string) => void;
  /** Sinks made by the caller (tests, `ato run`); default: from the config. */
  sinks?: Sink[];
  /** A span per delivered batch when tracing is on. */
  tracer?: Tracer;
}

export class Forwarder {
  readonly metrics: ForwardMetrics = createForwardMetrics();
  private readonly abort = new AbortController();
  private pipelines: SinkPipeline[] = [];

  private constructor(private readonly o: ForwarderOptions) {}

  static async create(o: ForwarderOptions): Promise<Forwarder> {
    const f = new Forwarder(o);
    const sinks = o.sinks ?? [];
    if (!o.sinks) {
      try {
        for (const s of o.config.sinks) sinks.push(await createSink(s));
      } catch (e) {
        await Promise.allSettled(sinks.map((s) => s.close()));
        throw e;
      }
    }
    const log = o.log ?? ((m: string) => console.error(`ato forward: ${m}`));
    f.pipelines = sinks.map((sink) => {
      const settings = o.config.sinks.find((s) => s.name === sink.name);
      const batch = settings?.batch ?? { records: 1000, bytes: 1 << 20, lingerMs: 200 };
      return new SinkPipeline(sink, { auditDir: o.auditDir, stateDir: o.config.stateDir, batch, retry: o.config.retry, pollMs: o.config.pollMs, once: o.once ?? false, metrics: f.metrics, log, tracer: o.tracer });
    });
    return f;
  }

  /** Runs until stop() (or, with `once`, until every sink has the whole log); rejects with the first sink's fatal error. */
  async run(): Promise<void> {
    const runs = this.pipelines.map((p) =>
      p.run(this.abort.signal).catch((e) => {
        this.abort.abort();
        throw e;
      }),
    );
    try {
      const results = await Promise.allSettled(runs);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    } finally {
      await Promise.allSettled(this.pipelines.map((p) => p.sink.close()));
    }
  }

  stop(): void {
    this.abort.abort();
  }

  /** Per-sink state; refreshes the lag gauges, so call it before reading the metrics. */
  status(): SinkStatus[] {
    return this.pipelines.map((p) => p.status());
  }

  /** Sinks with lag that made no progress for longer than the config allows. */
  stuck(now = Date.now()): SinkStatus[] {
    return this.status().filter((s) => s.lagRecords > 0 && now - s.progressAt > this.o.config.stuckAfterMs);
  }
}
