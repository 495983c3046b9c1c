/** The witness server's own Prometheus metrics, in a registry of its own. */
import { Counter, Gauge, Registry } from "prom-client";
import type { Refusal } from "./witness.ts";

export function witnessMetrics(knownLogs: () => number, cosignedLogs: () => number) {
  const registry = new Registry();
  const r = [registry];
  return {
    registry,
    logs: new Gauge({ name: "ato_witness_logs", help: "Logs this witness is configured to accept.", registers: r, collect() { this.set(knownLogs()); } }),
    cosignedLogs: new Gauge({ name: "ato_witness_logs_cosigned", help: "Logs with at least one cosigned checkpoint in the state.", registers: r, collect() { this.set(cosignedLogs()); } }),
    cosignatures: new Counter({ name: "ato_witness_cosignatures_total", help: "Checkpoints cosigned (200 answers).", registers: r }),
    refusals: new Counter({ name: "ato_witness_refusals_total", help: "add-checkpoint requests refused, by reason.", labelNames: ["reason"] as const, registers: r }),
  };
}

export type WitnessMetrics = ReturnType<typeof witnessMetrics>;
export type RefusalReason = Refusal | "too_large" | "timeout" | "method" | "internal";
