/** ato_anomalies_total by kind, registered in the agent's registry: a count per kind, never a per-flow label. */
import { Counter, type Registry } from "prom-client";
import { ANOMALY_KINDS, type Anomaly } from "./detector.ts";

export function anomalyCounter(registry: Registry): (found: readonly Anomaly[]) => void {
  const c = new Counter({ name: "ato_anomalies_total", help: "Anomalies the flow detectors found, by kind.", labelNames: ["kind"] as const, registers: [registry] });
  for (const k of ANOMALY_KINDS) c.inc({ kind: k }, 0); // every kind shows, at 0, from the start
  return (found) => { for (const a of found) c.inc({ kind: a.kind }); };
}
