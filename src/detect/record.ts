/**
 * An anomaly as an evidence record body (kind "anomaly", src/evidence/FORMAT.md): what changed, where, the
 * baseline and the observed value. The source, when there is one, is the masked source evidence shows.
 */
import type { Anomaly } from "./detector.ts";

export const ANOMALY_RECORD_KIND = "anomaly";

export function anomalyRecord(a: Anomaly, iface: (ifindex: number) => string, at: Date): Record<string, unknown> {
  const r: Record<string, unknown> = { anomaly: a.kind, scope: a.scope, at: at.toISOString() };
  if (a.ifindex !== undefined) r.iface = iface(a.ifindex);
  if (a.proto !== undefined) r.proto = a.proto;
  if (a.port !== undefined) r.port = a.port;
  if (a.src !== undefined) r.src = a.src;
  return { ...r, observed: a.observed, baseline_mean: a.baselineMean, baseline_sd: a.baselineSd, threshold: a.threshold, unit: a.unit };
}
