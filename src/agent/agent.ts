/**
 * The agent: every part of the trust chain started in the order that fails early and cleanly
 * (signer, log, metrics port, then the kernel), one collector timer, and a stop that collects
 * once more, signs a final checkpoint and detaches.
 */
import { AtoError } from "../errors.ts";
import { openSigner, type CheckpointSigner } from "../signer/index.ts";
import { EvidenceLog } from "../log/index.ts";
import { Masker, PortPolicy } from "../mask/index.ts";
import { createMetrics, createServer, type MetricsServer } from "../metrics/index.ts";
import { Collector } from "../collector/index.ts";
import { bpfObjectPath, bpfObjectSha256, FlowMapReader, ifaceName, ifindexOf, libbpfVersion, readCounters, requireBpffs, tScore, type AuditEvent } from "../kernel/index.ts";
import type { AgentConfig } from "../config/index.ts";
import { commit, VERSION } from "../version.ts";
import { KernelPlane } from "./kernel.ts";
import { log } from "./log.ts";
import { MetricsSync } from "./metrics-sync.ts";
import { AgentOperation } from "../attest/agent-operation.ts"; // not via the index: it loads libbpf, which ato attest verify must not

export class Agent {
  private timer?: ReturnType<typeof setInterval>;
  private stopped = false;
  /** The collection under way, if any. */
  private running?: Promise<void>;
  /** False after a cycle could not write its records (full disk): /readyz says so. */
  private logWritable = true;
  /** This run as an attestation bundle (src/attest), written at stop. */
  private operation?: AgentOperation;

  private constructor(
    private readonly kernel: KernelPlane,
    private readonly evidence: EvidenceLog,
    private readonly masker: Masker,
    private readonly collector: Collector,
    private readonly server: MetricsServer,
    private readonly sync: MetricsSync,
  ) {}

  static start(cfg: AgentConfig): Agent {
    // What the operator typed wrong is named before the HSM, the log or the port are touched.
    cfg.ifaces.forEach(ifindexOf);
    requireBpffs(cfg.pinDir);
    const signerOptions = { modulePath: cfg.pkcs11.modulePath, tokenLabel: cfg.pkcs11.tokenLabel, keyLabel: cfg.pkcs11.keyLabel, pin: cfg.pkcs11.pin };
    const signer: CheckpointSigner = openSigner(signerOptions); // a wrong PIN or missing key stops the start here
    const cleanups: (() => unknown)[] = [];
    try {
      const evidence = EvidenceLog.open({
        auditDir: cfg.auditDir,
        signer,
        reopenSigner: () => openSigner(signerOptions),
        checkpointEvery: cfg.checkpointEvery,
        checkpointIntervalMs: cfg.checkpointSeconds * 1000,
        onWarning: (m) => log(`evidence log: ${m}`),
        onError: (e) => log(`evidence log: ${e.message}`),
      });
      cleanups.push(() => evidence.close());
      const status = evidence.status();
      log(`evidence log ${status.activePath}`, { key: status.key?.name, key_id: status.key?.id, append_only: status.appendOnly.set });

      const masker = Masker.open({
        ipv4Prefix: cfg.masking.ipv4Prefix, ipv6Prefix: cfg.masking.ipv6Prefix,
        keepPorts: PortPolicy.parse(cfg.masking.keepPorts, "keep-ports"), simd: cfg.masking.simd,
        tokenKey: cfg.masking.tokenKey, sealKey: cfg.masking.sealKey,
      });
      cleanups.push(() => masker.close());

      const objectPath = bpfObjectPath(cfg.bpfObject);
      const metrics = createMetrics({ build: { version: VERSION, commit: commit(), bun: Bun.version, libbpf: libbpfVersion() } });
      let agent: Agent | undefined;
      const server = createServer({
        metrics,
        listen: cfg.listen,
        health: () => ({ attached: Boolean(agent && !agent.stopped), hsm: evidence.status().signer === "ok", logWritable: agent?.logWritable ?? false }),
        checkpoint: () => evidence.latestCheckpoint()?.note ?? null,
      });
      cleanups.push(() => server.stop());
      log(`metrics on ${server.url}/metrics`);

      let collector: Collector | undefined;
      const pending: AuditEvent[] = [];
      const kernel = KernelPlane.start({
        ifaces: cfg.ifaces, mode: cfg.mode, pinDir: cfg.pinDir, objectPath, maxFlows: cfg.maxFlows,
        config: {
          spikeThreshold: cfg.spike.threshold, spikeWindowNs: BigInt(cfg.spike.windowMs) * 1_000_000n,
          timingEnabled: cfg.features.timingAudit, timingMinSamples: cfg.timing.minSamples, tscoreThreshold: cfg.timing.tscore,
        },
      }, (e) => {
        // Events are rare by design (one per flow and window at most), so each is logged; the
        // addresses go only to the masked evidence record.
        log(`event ${e.kind}`, { iface: ifaceName(e.key.ifindex), cpu: e.cpu, tscore: e.kind === "timing" ? tScore(e).toFixed(2) : undefined });
        metrics.countEvent(e.kind, e.kind === "timing" ? tScore(e) : undefined);
        if (collector) collector.event(e);
        else pending.push(e);
      });
      cleanups.push(() => kernel.stop());

      const reader = new FlowMapReader(kernel.auditor.mapFd("flows"));
      collector = new Collector({ reader, masker, log: evidence, idleTimeoutNs: BigInt(cfg.idleTimeoutSeconds) * 1_000_000_000n, ifaceName });
      const pre = collector.start({
        version: VERSION, bpf_object_sha256: bpfObjectSha256(objectPath), simd: masker.simdPath,
        ifaces: kernel.auditor.attachments.map((a) => `${a.iface}:${a.mode}`),
      });
      if (pre.flows) log(`reusing pinned maps: ${pre.flows} flows counted before this start are recorded as preexisting`);
      pending.splice(0).forEach((e) => collector!.event(e));

      agent = new Agent(kernel, evidence, masker, collector, server, new MetricsSync(metrics, evidence, cfg.maxFlows));
      agent.operation = AgentOperation.begin(cfg, evidence, kernel.auditor, reader, metrics.registry, { attachments: kernel.auditor.attachments.map((a) => ({ ...a })), bpf_object_sha256: bpfObjectSha256(objectPath) }, log);
      agent.timer = setInterval(() => void agent!.tick(), cfg.intervalMs);
      return agent;
    } catch (e) {
      for (const c of cleanups.reverse()) {
        try { c(); } catch { /* the first error is the one to report */ }
      }
      signer.close();
      throw e;
    }
  }

  /**
   * One collection: events first (they are rare and time-stamped), then the flow map. A cycle
   * yields to the event loop while it reads, so a timer tick can arrive mid-cycle: it is
   * skipped, never run alongside (two cycles would report the same growth twice).
   */
  private tick(): Promise<void> {
    this.running ??= this.collect().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async collect(): Promise<void> {
    try {
      this.kernel.drainEvents();
      const cycle = await this.collector.cycle();
      this.sync.afterCycle(cycle, readCounters(this.kernel.auditor.mapFd("counters")));
      this.operation?.interval(this.evidence); // self-attestation: still our program, still our maps
      this.logWritable = true;
    } catch (e) {
      // A full disk or a lost directory: the counts stay in the kernel map (cumulative), so
      // the next good cycle reports them; nothing is lost, the operator is told.
      this.logWritable = false;
      if (e instanceof AtoError && e.code === "IO") this.sync.writeFailed();
      log(`collection failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Final collection, final signed checkpoint, detach. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.running; // a cycle under way finishes first; then one more collects the rest
    await this.tick();
    await this.operation?.finish(this.evidence);
    const cp = this.evidence.checkpoint("shutdown");
    log(`final checkpoint at tree size ${cp.treeSize}`, { signature_status: cp.status });
    this.sync.afterLogChange();
    this.evidence.close();
    await this.server.stop();
    this.kernel.stop();
    this.masker.close();
  }
}
