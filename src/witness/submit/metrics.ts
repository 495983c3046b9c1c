/** Per-witness metrics of the submitter, registered in the agent's own registry. */
import { Counter, Gauge, type Registry } from "prom-client";

export function submitterMetrics(registry: Registry, ages: () => Map<string, number | undefined>) {
  const r = [registry];
  return {
    cosignedSize: new Gauge({ name: "ato_witness_cosigned_tree_size", help: "Tree size of the last checkpoint each witness cosigned.", labelNames: ["witness"] as const, registers: r }),
    age: new Gauge({
      name: "ato_witness_cosignature_age_seconds", help: "Seconds since each witness's last cosignature (since agent start while there is none).", labelNames: ["witness"] as const, registers: r,
      collect() {
        for (const [w, age] of ages()) if (age !== undefined) this.set({ witness: w }, age);
      },
    }),
    cosignatures: new Counter({ name: "ato_witness_cosignatures_received_total", help: "Cosignatures received and written to the evidence log, per witness.", labelNames: ["witness"] as const, registers: r }),
    failures: new Counter({ name: "ato_witness_failures_total", help: "Submissions that got no cosignature, per witness and reason.", labelNames: ["witness", "reason"] as const, registers: r }),
    latency: new Gauge({ name: "ato_witness_last_latency_seconds", help: "Seconds from the checkpoint to its cosignature, for the last one, per witness.", labelNames: ["witness"] as const, registers: r }),
  };
}

export type SubmitterMetrics = ReturnType<typeof submitterMetrics>;
