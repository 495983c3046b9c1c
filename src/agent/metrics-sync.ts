/**
 * Brings the metrics up to date: after a collector cycle, what only the cycle knows (traffic growth by
 * protocol, the flows in the map, the cycle's time, whether it read the map: a cycle that did not read it
 * adds no traffic, and the next read adds what came meanwhile); after a checkpoint, its signing time; and just before a
 * scrape's render (beforeScrape, src/metrics/published.ts asks for it), the values mirrored from elsewhere: the
 * kernel's own counters and what the evidence log says it wrote, signed and holds on disk. Those are read when
 * someone looks, not every interval: an agent nobody scrapes reads no directory and copies no counters a second,
 * and a scrape sees them as they are at the scrape, not as they were at the last cycle.
 * Checkpoints themselves are counted when they happen (the agent's onCheckpoint).
 */
import { AtoError } from "../errors.ts";
import type { EvidenceLog } from "../log/index.ts";
import { setTotal, type AtoMetrics } from "../metrics/index.ts";
import type { CycleSummary } from "../collector/index.ts";
import type { CounterName } from "../kernel/index.ts";

export class MetricsSync {
  private lastSignSeconds: number | undefined;

  /** `kernel`: the kernel's cumulative counters (readCounters), read at each scrape. */
  constructor(private readonly m: AtoMetrics, private readonly log: EvidenceLog, private readonly capacity: number, private readonly kernel?: () => Record<CounterName, bigint> | undefined) {}

  afterCycle(cycle: CycleSummary): void {
    for (const [proto, c] of cycle.byProto) {
      this.m.addTraffic(proto, c.packets, c.bytes);
    }
    this.m.setFlowMap(cycle.flows - cycle.removed, this.capacity);
    this.m.collectorCycle.observe(cycle.seconds);
    if (cycle.read) this.m.collectorMapReads.inc();
  }

  /** After each checkpoint: its signature's time, once per checkpoint (a scrape every 15 s would miss most). */
  afterCheckpoint(): void {
    this.observeSigning(this.log.counters().lastSignSeconds);
  }

  /** Just before the registry is rendered for a scrape: the kernel's counters and the evidence counters. */
  beforeScrape(): void {
    if (this.kernel) this.updateKernel(this.kernel);
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
    this.observeSigning(c.lastSignSeconds);
  }

  /** The log keeps the last signature's time only: a new one is a new value (a checkpoint without a signer leaves it). */
  private observeSigning(seconds: number | undefined): void {
    if (seconds === undefined || seconds === this.lastSignSeconds) return;
    this.m.signingDuration.observe(seconds);
    this.lastSignSeconds = seconds;
  }

  /** The kernel's counters; once the agent closed its maps (a scrape racing the stop), the last values stay. */
  private updateKernel(read: () => Record<CounterName, bigint> | undefined): void {
    try {
      const c = read();
      if (c) this.m.setKernelCounters(c);
    } catch (e) {
      if (!(e instanceof AtoError && (e.code === "BPF" || e.code === "NOT_FOUND"))) throw e;
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
