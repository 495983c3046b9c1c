/**
 * The agent: every part of the trust chain started in the order that fails early and cleanly
 * (signer, log, metrics port, then the kernel), one collector timer (each cycle reads the flow
 * map when something needs it: collector.ts, watch.ts), and a stop that detaches first (so
 * nothing is counted after the last read), drains the ring buffer, collects once more, signs a
 * final checkpoint and only then closes the log.
 */
import { AtoError } from "../errors.ts";
import { openSigner, type CheckpointSigner } from "../signer/index.ts";
import { EvidenceLog, type CheckpointResult } from "../log/index.ts";
import { Retainer, RetentionTask, policyFrom } from "../retain/index.ts";
import { Masker, PortPolicy } from "../mask/index.ts";
import { createMetrics, createPublishedServer, type PublishedServer } from "../metrics/index.ts";
import { Collector, type ExportHook } from "../collector/index.ts";
import { bpfCompatPath, bpfObjectPath, bpfObjectSha256, FlowMapReader, ifaceName, ifindexOf, libbpfVersion, readCounters, requireBpffs, tScore, type AuditEvent, type CounterName } from "../kernel/index.ts";
import { settingFromEnv, type AgentConfig } from "../config/index.ts";
import { commit, VERSION } from "../version.ts";
import { KernelPlane } from "./kernel.ts";
import { log } from "./log.ts";
import { MetricsSync } from "./metrics-sync.ts";
import { Watch } from "./watch.ts";
import { Analytics } from "./analytics.ts";
import { Submitter, parseWitnessTarget } from "../witness/submit/index.ts";
import { AgentOperation } from "../attest/agent-operation.ts"; // not via the index: it loads libbpf, which ato attest verify must not

export class Agent {
  private timer?: ReturnType<typeof setInterval>;
  private stopped = false;
  /** The collection under way, if any. */
  private running?: Promise<void>;
  /** This run as an attestation bundle (src/attest), written at stop. */
  private operation?: AgentOperation;

  private constructor(
    private readonly kernel: KernelPlane,
    private readonly evidence: EvidenceLog,
    private readonly masker: Masker,
    private readonly collector: Collector,
    private readonly server: PublishedServer,
    private readonly sync: MetricsSync,
    private readonly submitter?: Submitter,
    private readonly analytics?: Analytics,
    private readonly retention?: RetentionTask,
  ) {}

  /** `hooks.onExport` receives every exported flow once its record is on disk (src/collector/export.ts): IPFIX, detectors. */
  static start(cfg: AgentConfig, hooks: { onExport?: ExportHook } = {}): Agent {
    // What the operator typed wrong is named before the HSM, the log or the port are touched.
    cfg.ifaces.forEach(ifindexOf);
    const witnessTargets = cfg.witnesses.map(parseWitnessTarget);
    let submitter: Submitter | undefined;
    requireBpffs(cfg.pinDir);
    const signerOptions = { modulePath: cfg.pkcs11.modulePath, tokenLabel: cfg.pkcs11.tokenLabel, keyLabel: cfg.pkcs11.keyLabel, pin: cfg.pkcs11.pin };
    const signer: CheckpointSigner = openSigner(signerOptions); // a wrong PIN or missing key stops the start here
    const cleanups: (() => unknown)[] = [];
    let analytics: Analytics | undefined;
    let retention: RetentionTask | undefined;
    try {
      // Served by the metrics worker from published snapshots (src/metrics/published.ts): scrapes never wait for a cycle.
      const metrics = createMetrics({ liveElsewhere: true, build: { version: VERSION, commit: commit(), bun: Bun.version, libbpf: libbpfVersion() } });
      let server: PublishedServer | undefined;
      let sync: MetricsSync | undefined;
      // The one moment a checkpoint line is durable: metrics count it here, and this is where a
      // submission to witnesses belongs.
      const onCheckpoint = (c: CheckpointResult) => {
        metrics.recordCheckpoint({ treeSize: c.treeSize, signed: c.status === "ok" });
        sync?.afterCheckpoint();
        submitter?.onCheckpoint(c);
        analytics?.onCheckpoint(c);
        retention?.afterCheckpoint();
        void server?.publish();
      };
      const evidence = EvidenceLog.open({
        auditDir: cfg.auditDir,
        signer,
        reopenSigner: () => openSigner(signerOptions),
        checkpointEvery: cfg.checkpointEvery,
        checkpointIntervalMs: cfg.checkpointSeconds * 1000,
        groupCommit: true, // count checkpoints never hold up the collector's next chunk (src/log/group-commit.ts)
        onWarning: (m) => log(`evidence log: ${m}`),
        onError: (e) => log(`evidence log: ${e.message}`),
        onCheckpoint,
      });
      cleanups.push(() => evidence.close());
      retention = startRetention(cfg, evidence);
      cleanups.push(() => void retention?.stop());
      let kernelCounters: (() => Record<CounterName, bigint> | undefined) | undefined; // once the program is loaded
      sync = new MetricsSync(metrics, evidence, cfg.maxFlows, () => kernelCounters?.());
      const status = evidence.status();
      log(`evidence log ${status.activePath}`, { key: status.key?.name, key_id: status.key?.id, append_only: status.appendOnly.set });

      const masker = Masker.open({
        ipv4Prefix: cfg.masking.ipv4Prefix, ipv6Prefix: cfg.masking.ipv6Prefix,
        keepPorts: PortPolicy.parse(cfg.masking.keepPorts, "keep-ports"), simd: cfg.masking.simd,
        tokenKey: cfg.masking.tokenKey, sealKey: cfg.masking.sealKey,
      });
      cleanups.push(() => masker.close());
      analytics = new Analytics(cfg.analytics, { registry: metrics.registry, masking: cfg.masking, append: (k, d) => evidence.appendRecord(k, d), ifaceName, intervalMs: cfg.intervalMs, version: VERSION, log, onExport: hooks.onExport });
      cleanups.push(() => analytics?.close());

      const objectPath = bpfObjectPath(cfg.bpfObject);
      if (witnessTargets.length) {
        submitter = new Submitter({ auditDir: cfg.auditDir, witnesses: witnessTargets, registry: metrics.registry, append: (k, d) => evidence.appendRecord(k, d as unknown as Record<string, unknown>), warn: (m) => log(m), tracer: analytics.tracer });
        cleanups.push(() => submitter?.stop());
        log(`submitting checkpoints to ${witnessTargets.length} witness(es)`, { witnesses: witnessTargets.map((t) => t.key.name).join(",") });
      }
      let agent: Agent | undefined;
      // A scrape marks the agent watched (watch.ts): the collector then reads the map every interval; after an
      // unwatched stretch the scrape also starts a cycle at once (after this render, which holds the last read's values).
      const watch = new Watch((settingFromEnv("metricsWatchSeconds") ?? 120) * 1000);
      server = createPublishedServer({
        metrics,
        listen: cfg.listen,
        onError: (m) => log(m),
        health: () => {
          const st = evidence.status();
          const witnesses = submitter?.silent(cfg.witnessMaxSilenceSeconds);
          const details = { ...(st.writable.error ? { logWritable: st.writable.error } : {}), ...witnesses };
          return {
            attached: Boolean(agent && !agent.stopped), hsm: st.signer === "ok", logWritable: st.writable.ok,
            witnesses: witnesses === undefined ? undefined : Object.keys(witnesses).length === 0,
            details: Object.keys(details).length ? details : undefined,
          };
        },
        checkpoint: () => evidence.latestCheckpoint()?.note ?? null,
        refresh: () => {
          sync!.beforeScrape(); // the kernel's and the log's counters, read when someone looks
          if (watch.mark()) setImmediate(() => { if (agent && !agent.stopped) void agent.tick(); });
        },
      });
      cleanups.push(() => server?.stop());
      log(`metrics on ${server.url}/metrics`);

      let collector: Collector | undefined;
      const pending: AuditEvent[] = [];
      const kernel = KernelPlane.start({
        ifaces: cfg.ifaces, mode: cfg.mode, pinDir: cfg.pinDir, objectPath, fallbackPath: bpfCompatPath(cfg.bpfObject), maxFlows: cfg.maxFlows,
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
      // A scrape can still ask for a render while a failed start unwinds (the cleanups close the kernel side
      // before the metrics worker): the kernel's counters then keep their last values instead of reading a closed map.
      let kernelOpen = true;
      cleanups.push(() => { kernelOpen = false; kernel.close(); });
      kernelCounters = () => (kernelOpen ? readCounters(kernel.auditor.mapFd("counters")) : undefined);

      // 4,096 flows per batch lookup: a 4,096-flow map in one or two syscalls a cycle (each holds the event loop about a millisecond).
      const reader = new FlowMapReader(kernel.auditor.mapFd("flows"), 4096);
      collector = new Collector({
        reader, masker, log: evidence, ifaceName,
        idleTimeoutNs: BigInt(cfg.idleTimeoutSeconds) * 1_000_000_000n, activeTimeoutNs: BigInt(cfg.activeTimeoutSeconds) * 1_000_000_000n,
        packetsSeen: () => readCounters(kernel.auditor.mapFd("counters")).packets, // the map is read when something needs it (collector.ts)
        // Without the conservation check, nothing would find an entry deleted from outside between two due reads
        // (its evicted record would wait for the next, and miss more growth): every frame's cycle reads then. With
        // it, a finding starts a cycle that reads the map at once (tick).
        watched: cfg.conservationEvery === 0 ? () => true : () => watch.watched,
        onExport: analytics.onExport, onRead: analytics.onRead, onHookError: (e) => log(`export hook failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`),
      });
      const pre = collector.start({
        version: VERSION, bpf_object_sha256: bpfObjectSha256(kernel.auditor.object.path), simd: masker.simdPath,
        ifaces: kernel.auditor.attachments.map((a) => `${a.iface}:${a.mode}`),
      });
      if (pre.flows) log(`reusing pinned maps: ${pre.flows} flows counted before this start are recorded as preexisting`);
      pending.splice(0).forEach((e) => collector!.event(e));

      agent = new Agent(kernel, evidence, masker, collector, server, sync, submitter, analytics, retention);
      agent.operation = AgentOperation.begin(cfg, evidence, kernel.auditor, reader, metrics.registry, { attachments: kernel.auditor.attachments.map((a) => ({ ...a })), bpf_object_sha256: bpfObjectSha256(kernel.auditor.object.path) }, log);
      collector.mapRead = agent.operation.mapReadHook; // the conservation check sums the collector's own read of the map
      void server.publish(); // attached now
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
  private tick(final = false): Promise<void> {
    this.running ??= this.collect(final).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async collect(final: boolean): Promise<void> {
    try {
      this.kernel.drainEvents();
      const cycle = await this.analytics!.cycle(() => this.collector.cycle({ final }), final);
      this.analytics!.afterCycle();
      this.sync.afterCycle(cycle);
      // Self-attestation: still our program, still our maps. Not in the last collection of a stop,
      // which runs after the agent detached its own program on purpose.
      // A finding (a map entry deleted from outside, say) starts a cycle that reads the map at once: what the
      // collector read of a removed entry becomes its evicted/recreated record in this interval, as with a read every interval.
      if (!this.stopped && this.operation && this.operation.interval(this.evidence) > 0) {
        this.collector.readNext();
        setImmediate(() => { if (!this.stopped) void this.tick(); });
      }
      void this.server.publish();
    } catch (e) {
      // A full disk or a lost directory: the counts stay in the kernel map (cumulative), so
      // the next good cycle reports them; nothing is lost, the operator is told (and /readyz,
      // from the log's own status). Anything but an AtoError is a bug, and is thrown.
      if (!(e instanceof AtoError)) throw e;
      log(`collection failed: ${e.message}`);
    }
  }

  /**
   * The flows in the map as last known: the conservation check's last read, or the collector's since; with the
   * check off, the collector's last read; undefined when unknown.
   */
  get knownFlows(): number | undefined {
    return this.operation?.knownFlows ?? this.collector.flowsRead;
  }

  /**
   * Detach (nothing is counted or raised after this), drain the ring buffer, the final
   * collection, the final signed checkpoint; then close the log, the server and the kernel side.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    void this.server.publish(); // /readyz: no longer attached
    await this.running; // a cycle under way finishes first
    await this.retention?.stop(); // a retention pass under way finishes (or fails) before the final checkpoint
    try {
      this.kernel.detach();
      await this.tick(true); // drains the events raised up to the detach, then records every flow's unrecorded growth (reason shutdown)
      this.kernel.drainEvents(); // those of program runs still under way at the detach
      this.operation?.finalCheck(this.evidence); // the packets since the last conservation check, before the shutdown checkpoint signs
      await this.operation?.finish(this.evidence);
      const cp = this.evidence.checkpoint("shutdown");
      log(`final checkpoint at tree size ${cp.treeSize}`, { signature_status: cp.status });
      // The witnesses' answers to it are written before the log closes, covered by its last checkpoint.
      if (this.submitter && !(await this.submitter.drain(5000))) log("a witness did not answer the final checkpoint within 5 s");
      await this.analytics?.close(); // the IPFIX export of the last records and the spans of the last checkpoint leave before the stop returns
    } finally {
      this.submitter?.stop();
      try {
        this.evidence.close();
      } finally {
        await this.server.stop();
        this.kernel.close();
        this.masker.close();
      }
    }
  }
}

/** Retention by class (--retention): a pass at each rotation and every --retention-check-seconds; none without rules. */
function startRetention(cfg: AgentConfig, evidence: EvidenceLog): RetentionTask | undefined {
  const r = cfg.retention;
  if (r.rules.length === 0) return undefined;
  const policy = policyFrom({ rules: r.rules, requireForward: r.requireForward, requireWitness: r.requireWitness, forwardConfig: cfg.forward.configFile, forwardSinks: cfg.forward.sinks, witnesses: cfg.witnesses });
  log(`retention: ${[...policy.rules.values()].map((x) => x.text).join(", ")}`, { require_forward: policy.requireSinks, require_witness: policy.requireWitness, every_s: r.checkSeconds });
  return new RetentionTask({ retainer: new Retainer(cfg.auditDir, policy), log: evidence, everyMs: r.checkSeconds * 1000, say: (m, f) => log(m, f as Parameters<typeof log>[1]) });
}
