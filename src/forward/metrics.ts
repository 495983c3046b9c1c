/**
 * The forwarder's metrics, per sink, in a Registry of its own (like src/metrics): lag in
 * records and seconds, records sent, retries, failures by cause, the cursor's position.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { SinkFailure } from "./sink.ts";

export type ForwardMetrics = ReturnType<typeof createForwardMetrics>;

export function createForwardMetrics() {
  const registry = new Registry();
  const labelNames = ["sink"] as const;
  const m = {
    registry,
    sent: new Counter({ name: "ato_forward_sent_records_total", help: "Lines the sink acknowledged", labelNames, registers: [registry] }),
    batches: new Counter({ name: "ato_forward_batches_total", help: "Batches the sink acknowledged", labelNames, registers: [registry] }),
    retried: new Counter({ name: "ato_forward_retries_total", help: "Sends retried after a retryable failure", labelNames, registers: [registry] }),
    failed: new Counter({ name: "ato_forward_failures_total", help: "Failed sends, by cause", labelNames: ["sink", "failure"] as const, registers: [registry] }),
    splits: new Counter({ name: "ato_forward_splits_total", help: "Batches split after the sink refused them as too large", labelNames, registers: [registry] }),
    cursorErrors: new Counter({ name: "ato_forward_cursor_save_errors_total", help: "Failed saves of the cursor (the batch was sent; forwarding pauses)", labelNames, registers: [registry] }),
    lagRecords: new Gauge({ name: "ato_forward_lag_records", help: "Lines in the log not yet acknowledged by the sink", labelNames, registers: [registry] }),
    lagSeconds: new Gauge({ name: "ato_forward_lag_seconds", help: "Age of the oldest line not yet acknowledged (0 when caught up)", labelNames, registers: [registry] }),
    cursorSeq: new Gauge({ name: "ato_forward_cursor_seq", help: "Seq of the next line to send", labelNames, registers: [registry] }),
    cursorSegment: new Gauge({ name: "ato_forward_cursor_segment", help: "Segment of the next line to send", labelNames, registers: [registry] }),
  };
  return m;
}

export function countFailure(m: ForwardMetrics, sink: string, failure: SinkFailure): void {
  m.failed.inc({ sink, failure });
}
