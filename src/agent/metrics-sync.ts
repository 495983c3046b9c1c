/**
 * Brings the metrics up to date after a collector cycle: traffic growth by protocol, the
 * kernel's own counters, map pressure, and what the evidence log says it wrote and signed.
 * Checkpoints themselves are counted when they happen (the agent's onCheckpoint).
 */
import { AtoError } from "../errors.ts";
import type { EvidenceLog } from "../log/index.ts";
import { protoLabel, setTotal, type AtoMetrics } from "../metrics/index.ts";
import type { CycleSummary } from "../collector/index.ts";
import type { CounterName } from "../kernel/index.ts";

export class MetricsSync {
  private lastSignSeconds: number | undefined;

  constructor(private readonly m: AtoMetrics, private readonly log: EvidenceLog, private readonly capacity: number) {}

  afterCycle(cycle: CycleSummary, kernel: Record<CounterName, bigint>): void {
    for (const [proto, c] of cycle.byProto) {
      this.m.addTraffic(proto, Number(c.packets), Number(c.bytes));
    }
    this.m.setKernelCounters(kernel);
    this.m.setFlowMap(cycle.flows - cycle.removed, this.capacity);
    this.m.collectorCycle.observe(cycle.seconds);
    this.afterLogChange();
  }

  /** Evidence counters: records covered by good / failed checkpoints, errors, signing time, size on disk. */
  afterLogChange(): void {
    const c = this.log.counters();
    setTotal(this.m.verifiedFlows, c.verified.flow ?? 0);
    setTotal(this.m.unverifiedFlows, c.unverified.flow ?? 0);
    setTotal(this.m.hsmErrors, c.hsmErrors);
    setTotal(this.m.logWriteErrors, c.writeErrors);
    this.updateLogBytes();
    if (c.lastSignSeconds !== undefined && c.lastSignSeconds !== this.lastSignSeconds) {
      this.m.signingDuration.observe(c.lastSignSeconds);
      this.lastSignSeconds = c.lastSignSeconds;
    }
  }

  /** The log's size on disk; while its directory cannot be read (the failure is the log's to report), the last size stays. */
  private updateLogBytes(): void {
    try {
      this.m.evidenceLogBytes.set(this.log.bytesOnDisk());
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
    }
  }
}
