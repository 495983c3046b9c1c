/**
 * The series whose value is the moment of the scrape: the process_* metrics and the checkpoint age. They are
 * read when the exposition is rendered, wherever that happens: in the agent's own registry (createMetrics), or in
 * the metrics worker (worker.ts) beside the snapshot the agent last published, so they stay exact to the scrape.
 */
import { Gauge, type Registry } from "prom-client";
import { processMetrics } from "./_process.ts";

const CHECKPOINT_AGE = {
  name: "ato_checkpoint_age_seconds",
  help: "Seconds since the last signed checkpoint (since agent start while there is none).",
} as const;

/** `since()`: ms since the epoch of the last signed checkpoint, or of the agent's start before one. */
export function liveMetrics(registry: Registry, since: () => number): void {
  new Gauge({
    ...CHECKPOINT_AGE, registers: [registry],
    collect() {
      this.set((Date.now() - since()) / 1000);
    },
  });
  processMetrics(registry);
}
