/**
 * Sending one batch until the sink acknowledges it: retryable failures wait (backoff with
 * jitter, Retry-After as a floor) and try again, for as long as it takes: the log is the
 * buffer, nothing is dropped. A batch refused as too large is split in halves; a single line
 * too large, or a refusal (credentials, certificate), ends the sink with a clear error, once,
 * instead of a retry storm.
 */
import { AtoError, type AtoErrorCode } from "../errors.ts";
import type { ForwardEvent } from "./event.ts";
import { countFailure, type ForwardMetrics } from "./metrics.ts";
import { backoffMs, sleep, type RetryPolicy } from "./retry.ts";
import { SinkError, type Sink } from "./sink.ts";

export interface DeliverContext {
  sink: Sink;
  retry: RetryPolicy;
  metrics: ForwardMetrics;
  log: (message: string) => void;
  signal: AbortSignal;
}

export class Stopped extends Error {}

const FATAL: Record<string, AtoErrorCode> = { refused: "PERMISSION", rejected: "CORRUPT", "too-large": "CORRUPT" };

/** `before`: settles once every earlier batch is in; a retry waits for it, so re-sends go out in log order. */
export async function deliver(ctx: DeliverContext, events: ForwardEvent[], before?: Promise<unknown>): Promise<void> {
  const name = ctx.sink.name;
  let attempt = 0;
  for (;;) {
    try {
      if (attempt > 0 && before) await before;
      await ctx.sink.send(events);
      if (attempt > 0) ctx.log(`sink ${name}: delivered again after ${attempt} retr${attempt === 1 ? "y" : "ies"}`);
      ctx.metrics.sent.inc({ sink: name }, events.length);
      ctx.metrics.batches.inc({ sink: name });
      return;
    } catch (e) {
      if (!(e instanceof SinkError)) throw e;
      countFailure(ctx.metrics, name, e.failure);
      if (e.failure === "too-large" && events.length > 1) {
        ctx.metrics.splits.inc({ sink: name });
        const mid = events.length >> 1;
        await deliver(ctx, events.slice(0, mid), before);
        await deliver(ctx, events.slice(mid), before);
        return;
      }
      if (!e.retryable) {
        const what = e.failure === "too-large" ? `the line at seq ${events[0]!.seq} alone is larger than the sink accepts: ${e.message}` : e.message;
        throw new AtoError(`sink ${name}: ${what}`, FATAL[e.failure] ?? "IO", { cause: e });
      }
      if (attempt === 0 || attempt % 10 === 0) ctx.log(`sink ${name}: ${e.message}; retrying (attempt ${attempt + 1})`);
      ctx.metrics.retried.inc({ sink: name });
      await sleep(backoffMs(attempt++, ctx.retry, e.options.retryAfterMs), ctx.signal);
      if (ctx.signal.aborted) throw new Stopped();
    }
  }
}
