/**
 * What `ato run` does with its flows besides the evidence: IPFIX export (--ipfix), anomaly detection (--detect)
 * and tracing (--otlp-endpoint). IPFIX is fed by the collector's onExport hook, after the records are on disk,
 * so it exports exactly what the log holds. The detectors are fed by its onRead hook, the map reading of every
 * cycle (while the hook is set, every cycle in which a frame came reads the map: src/collector/collector.ts), so a
 * live flow's growth is judged within an interval, not when its record leaves at the active timeout.
 * Each is off unless configured, and then costs nothing (no hook is installed). None can harm the evidence: an
 * exporter that cannot open or send is logged, never fatal.
 */
import type { Registry } from "prom-client";
import type { CheckpointResult } from "../log/index.ts";
import type { CycleSummary, ExportHook, ExportedFlow, ReadHook } from "../collector/index.ts";
import type { AgentConfig } from "../config/index.ts";
import { IpfixExporter } from "../ipfix/index.ts";
import { AnomalyDetector, anomalyCounter, anomalyRecord, ANOMALY_RECORD_KIND } from "../detect/index.ts";
import { createTracer, type Tracer } from "../trace/index.ts";
import { LiveDetectFeed } from "./detect.ts";
import { ipfixFlow } from "./ipfix.ts";

export interface AnalyticsDeps {
  registry: Registry;
  masking: { ipv4Prefix: number; ipv6Prefix: number };
  append: (kind: string, data: Record<string, unknown>) => void;
  ifaceName: (ifindex: number) => string;
  intervalMs: number;
  version: string;
  log: (message: string) => void;
  /** Another consumer of the exported flows (Agent.start's hooks.onExport). */
  onExport?: ExportHook;
}

export class Analytics {
  private exporter?: IpfixExporter;
  private readonly opening?: Promise<unknown>;
  private readonly detector?: AnomalyDetector;
  private readonly count?: ReturnType<typeof anomalyCounter>;
  private readonly feed?: LiveDetectFeed;
  private lastCycle = 0;
  readonly tracer: Tracer;

  constructor(private readonly a: AgentConfig["analytics"], private readonly d: AnalyticsDeps) {
    if (a.ipfix.targets.length) {
      this.opening = IpfixExporter.open({
        targets: a.ipfix.targets, addresses: a.ipfix.addresses, ipv4Prefix: d.masking.ipv4Prefix, ipv6Prefix: d.masking.ipv6Prefix,
        domain: a.ipfix.domain, refreshSeconds: a.ipfix.templateSeconds, refreshMessages: a.ipfix.templateMessages,
      }).then((ex) => { this.exporter = ex; d.log(`exporting IPFIX to ${a.ipfix.targets.join(",")} (addresses ${a.ipfix.addresses})`); },
        (e: unknown) => d.log(`IPFIX exporter did not open: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (a.detect) {
      this.detector = new AnomalyDetector(a.detect);
      this.count = anomalyCounter(d.registry);
      this.feed = new LiveDetectFeed(d.masking.ipv4Prefix, d.masking.ipv6Prefix);
    }
    this.tracer = createTracer({ endpoint: a.otlpEndpoint, serviceVersion: d.version });
  }

  /** The collector's onExport when something listens (IPFIX or another consumer); undefined otherwise, so the
   * collector decodes no exported flows for nobody. */
  get onExport(): ExportHook | undefined {
    return this.opening || this.d.onExport ? this.exportFlows : undefined;
  }

  /** Every written chunk of flows. */
  private readonly exportFlows = (flows: ExportedFlow[]): void => {
    if (this.opening) {
      const out = flows.map(ipfixFlow);
      if (this.exporter) this.exporter.export(out);
      else void this.opening.then(() => this.exporter?.export(out)); // in order, once the sockets are open
    }
    this.d.onExport?.(flows);
  };

  /** The collector's onRead when detecting (undefined otherwise: no per-flow call at all). */
  get onRead(): ReadHook | undefined {
    return this.feed?.onRead;
  }

  /** One collection cycle, as a span when tracing is on. */
  async cycle(run: () => Promise<CycleSummary>, final: boolean): Promise<CycleSummary> {
    const span = this.tracer.start("ato.collect", { final });
    try {
      const c = await run();
      span.set("flows", c.flows).set("records", c.records).set("removed", c.removed);
      span.end();
      return c;
    } catch (e) {
      span.end(e);
      throw e;
    }
  }

  /**
   * After each cycle: the detector observes the flows that grew in the cycle's map reading, over the time since the previous
   * cycle; each anomaly becomes an `anomaly` evidence record and counts in ato_anomalies_total.
   */
  afterCycle(): void {
    if (!this.detector) return;
    const now = performance.now();
    const seconds = this.lastCycle ? (now - this.lastCycle) / 1000 : this.d.intervalMs / 1000;
    this.lastCycle = now;
    const found = this.detector.observe(this.feed!.take(), seconds);
    const at = new Date();
    for (const a of found) this.d.append(ANOMALY_RECORD_KIND, anomalyRecord(a, this.d.ifaceName, at));
    this.count!(found);
  }

  /** A durable checkpoint line, as a span (signed and synced before this is called, so the span marks it, not its cost). */
  onCheckpoint(c: CheckpointResult): void {
    if (this.tracer.enabled) this.tracer.start("ato.checkpoint", { tree_size: c.treeSize, status: c.status }).end();
  }

  /** After the final collection: the exporter's last messages leave, spans are flushed. */
  async close(): Promise<void> {
    await this.opening;
    await this.exporter?.close();
    await this.tracer.close();
  }
}
