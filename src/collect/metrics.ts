/** The collector's per-origin gauges, in a Registry of its own (like src/forward's). */
import { Counter, Gauge, Registry } from "prom-client";
import type { OriginStatus } from "./check.ts";

export type CollectMetrics = ReturnType<typeof createCollectMetrics>;

const RESULT = { verified: 0, tampered: 1, incomplete: 2, untrusted: 3, "not verified": 4 } as const;

export function createCollectMetrics() {
  const registry = new Registry();
  const labelNames = ["origin"] as const;
  return {
    registry,
    treeSize: new Gauge({ name: "ato_collect_tree_size", help: "Tree size the rebuilt log of the origin verifies to", labelNames, registers: [registry] }),
    signedAge: new Gauge({ name: "ato_collect_last_signed_checkpoint_age_seconds", help: "Age of the origin's last checkpoint that verified", labelNames, registers: [registry] }),
    gaps: new Gauge({ name: "ato_collect_missing_records", help: "Seqs missing from the origin's rebuilt log (gaps)", labelNames, registers: [registry] }),
    behind: new Gauge({ name: "ato_collect_behind_records", help: "Lines the stream holds for the origin past the rebuilt log", labelNames, registers: [registry] }),
    result: new Gauge({ name: "ato_collect_verify_result", help: "Last verify verdict (0 verified, 1 tampered, 2 incomplete, 3 untrusted, 4 not verified)", labelNames, registers: [registry] }),
    findings: new Gauge({ name: "ato_collect_findings", help: "Lines kept aside: conflicting copies of a held seq, or late lines", labelNames, registers: [registry] }),
    pending: new Gauge({ name: "ato_collect_stream_pending_records", help: "Messages pending for the durable consumer (all origins)", registers: [registry] }),
    written: new Counter({ name: "ato_collect_written_records_total", help: "Lines written to rebuilt logs", labelNames, registers: [registry] }),
  };
}

export function exportStatus(m: CollectMetrics, s: OriginStatus): void {
  const l = { origin: s.origin };
  m.treeSize.set(l, s.tree_size ?? 0);
  m.signedAge.set(l, s.last_signed_age_s ?? -1);
  m.gaps.set(l, s.missing);
  m.behind.set(l, s.behind);
  m.result.set(l, RESULT[s.result]);
  m.findings.set(l, s.findings.length);
}
