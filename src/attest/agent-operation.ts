/**
 * `ato run` from start to stop as one operation: at start, what the agent was asked to do (the configuration,
 * secrets shown only as set/unset) and what it attached; at stop, the bundle, signed with the same key through
 * the log's own session (a second one only when the log holds no working signer: bundleSigner), and its attest
 * record appended to the agent's own log before the final checkpoint, which covers it.
 * Records that `ato attest run` left pending while this agent held the log are appended at start.
 * A bundle that cannot be written (full disk) is reported and never stops the agent from stopping.
 * While it runs, the self-attestation (self-check.ts) looks at the kernel once per interval, and the conservation
 * check (conservation.ts) counts the flow map's packets against the kernel's counters in every interval whose
 * cycle read the map anyway, at least every `conservationEvery` intervals (reading the map itself), and once more
 * at the stop. What either finds is a `tamper` record in the log, an event of this operation,
 * ato_tamper_total{kind} and a log line.
 */
import { Counter, type Registry } from "prom-client";
import { AtoError } from "../errors.ts";
import { MAPS, readCounters, type FlowMapReader, type FlowSum, type XdpAuditor } from "../kernel/index.ts";
import { redact, settingFromEnv, type AgentConfig } from "../config/index.ts";
import type { EvidenceLog } from "../log/index.ts";
import type { CheckpointSigner, OpenSignerOptions } from "../signer/index.ts";
import type { MapReadHook } from "../collector/index.ts";
import { sbomForAsync, writeBundle } from "./bundle.ts";
import { appendAttest, attestDir, flushPending } from "./ledger.ts";
import { Operation } from "./operation.ts";
import { Conservation } from "./conservation.ts";
import { openConservationSum } from "./conservation-sum.ts";
import { isKernelQueryError, SelfCheck, type TamperFinding } from "./self-check.ts";
import { tryOpenSigner } from "./signing.ts";
import { RunChanges } from "./run-changes.ts";
import { loadHashCache } from "./cache-file.ts";
import { trustOf } from "./wrap.ts";
import { TamperRecords } from "./tamper-records.ts";

/** The flow-sum program's role in the kernel record (KernelIdentity.helpers). */
const FLOW_SUM_ROLE = "conservation_sum";

export class AgentOperation {
  /**
   * When the next conservation check is due (performance.now() ms). By time, not by counting cycles: a cycle that
   * failed (a full disk) never reaches interval(), and a finding or a scrape starts an extra one.
   */
  private checkDue: number;
  /** Told once as found, then written; kept while the disk is full. */
  private readonly findings = new TamperRecords((f) => {
    this.op.add("tamper", f as unknown as Record<string, unknown>);
    this.tampers.inc({ kind: f.tamper });
    this.say(`tamper: ${f.tamper} ${f.subject}`, { found: f.found ? JSON.stringify(f.found) : "none", action: f.action });
  }, (m) => this.say(m));
  private constructor(
    private readonly cfg: AgentConfig,
    readonly op: Operation,
    private readonly self: SelfCheck,
    private readonly conservation: { check: Conservation; every: number } | undefined,
    private readonly tampers: Counter<"kind">,
    /** Made while the agent runs (dpkg, hashing ato's binary): neither the start nor the stop waits for it. */
    private readonly sbom: Promise<Buffer>,
    private readonly say: (m: string, fields?: Record<string, string | number | undefined>) => void,
    /** Configuration changes and upgrades, against the last run and while this one runs. */
    private readonly changes: RunChanges,
    /** The conservation check's walk of the flow map in the kernel, when it loaded. */
    private readonly flowSum: FlowSum | undefined,
    /** Conservation checks by where their sum of the map came from. */
    private readonly checks: Counter<"map_read_by">,
  ) {
    this.checkDue = this.nextCheck();
  }

  /** After the attach: records what the kernel runs (a `kernel` record) and starts the operation. */
  static begin(cfg: AgentConfig, evidence: EvidenceLog, auditor: XdpAuditor, reader: FlowMapReader, registry: Registry, facts: Record<string, unknown>, say: (m: string, fields?: Record<string, string | number | undefined>) => void): AgentOperation {
    const pending = flushPending(evidence, cfg.auditDir);
    if (pending) say(`appended ${pending} attest record(s) that waited for the log`);
    const every = cfg.conservationEvery;
    // loaded before the kernel record is taken, so the record names it: a second program of ours, not someone else's
    const flowSum = every > 0 ? openConservationSum(auditor.mapFd("flows"), settingFromEnv("conservationSum") ?? "kernel", say) : undefined;
    try {
      return AgentOperation.beginWith(cfg, evidence, auditor, reader, registry, facts, say, every, flowSum);
    } catch (e) {
      flowSum?.close(); // a start that fails after the load (a full disk at the kernel record) leaves no program behind
      throw e;
    }
  }

  private static beginWith(cfg: AgentConfig, evidence: EvidenceLog, auditor: XdpAuditor, reader: FlowMapReader, registry: Registry, facts: Record<string, unknown>, say: (m: string, fields?: Record<string, string | number | undefined>) => void, every: number, flowSum: FlowSum | undefined): AgentOperation {
    const maps = Object.fromEntries((Object.keys(MAPS) as (keyof typeof MAPS)[]).map((k) => [MAPS[k], auditor.mapFd(k)]));
    const helpers = flowSum ? { [FLOW_SUM_ROLE]: flowSum.progFd } : {};
    const self = SelfCheck.start({ progFd: auditor.progFd, pinDir: auditor.pinDir, attachments: auditor.attachments, maps, helpers });
    evidence.appendRecord("kernel", self.identity as unknown as Record<string, unknown>);
    const op = Operation.begin("ato run", "agent", { config: redact(cfg) as unknown as Record<string, unknown>, pid: process.pid });
    op.add("started", { ...facts, kernel: self.identity });
    const tampers = new Counter({ name: "ato_tamper_total", help: "Tamper findings of the self-attestation, by kind (detached, replaced, map_unpinned, map_swapped, counts_missing, counts_added).", labelNames: ["kind"] as const, registers: [registry] });
    // The token's key vouches for the saved hash cache and the last run's record (no PIN, a few ms).
    const trust = trustOf(cfg.pkcs11);
    const cache = loadHashCache(attestDir(cfg.auditDir), trust, (m) => say(m));
    const sbom = sbomForAsync(op, { bpfObject: cfg.bpfObject, modulePath: cfg.pkcs11.modulePath, cache });
    const conservation = every > 0 ? { check: Conservation.start({ reader, counters: () => readCounters(auditor.mapFd("counters")), kernelSum: flowSum,
      onWalkFailed: (e) => say(`conservation check: the kernel's walk of the flow map failed (${e.message}); it sums the map with batch lookups from now on`) }), every } : undefined;
    const p = self.identity.program;
    const also = self.identity.helpers?.map((x) => `${x.role}:${x.name}:${x.id}`).join(",");
    say(`self-attestation: program id ${p.id} tag ${p.tag}`, { maps: self.identity.maps.map((m) => `${m.name}:${m.id}`).join(","), helpers: also, conservation_every: every });
    const changes = RunChanges.start(cfg, evidence, op, { objectPath: auditor.object.path, sbom, trust, cache }, say);
    const checks = new Counter({ name: "ato_conservation_checks_total", help: "Conservation checks by what summed the flow map: the collector's read of its cycle, or the check's own (kernel walk or batch lookups).", labelNames: ["map_read_by"] as const, registers: [registry] });
    return new AgentOperation(cfg, op, self, conservation, tampers, sbom, say, changes, flowSum, checks);
  }

  /**
   * For the collector (Collector.mapRead): its read of the map each cycle hands the conservation check the packet
   * sum it made anyway, so the check reads the map itself only after a cycle that did not read it (a quiet one).
   */
  get mapReadHook(): MapReadHook | undefined {
    return this.conservation?.check.readHook;
  }

  /** The flows in the map as the conservation check last knew them; undefined without the check. */
  get knownFlows(): number | undefined {
    return this.conservation?.check.knownFlows;
  }

  /** Once per collector interval: the kernel still runs our program and our maps are under their pins. Returns the findings recorded. */
  interval(evidence: EvidenceLog): number {
    this.changes.interval();
    let findings: TamperFinding[];
    try {
      findings = this.self.check();
    } catch (e) {
      if (!isKernelQueryError(e)) throw e;
      this.say(`self-attestation could not query the kernel: ${e.message}`);
      return 0;
    }
    // A cycle that read the map hands its sum over for nothing, so that is checked whenever it happens; the
    // check's own read of the map (~2-3 ms per 4,096 flows) waits for its cadence.
    const c = this.conservation;
    if (c && (c.check.hasCollectorRead || performance.now() >= this.checkDue)) {
      const f = this.conserved(c.check);
      if (f) findings.push(f);
    }
    this.record(evidence, findings);
    return findings.length;
  }

  /**
   * At the stop, after the final collection (the kernel side detached, so the counters no longer move): the
   * packets since the last check are accounted for before the shutdown checkpoint signs the log. Reads the map
   * itself when that collection did not (it failed).
   */
  finalCheck(evidence: EvidenceLog): void {
    const f = this.conservation ? this.conserved(this.conservation.check) : null;
    this.record(evidence, f ? [f] : []); // also those still unwritten
  }

  /** One conservation check. Apart from the self-check: its findings are reported once, when they begin, so a failed read must not take them with it. */
  private conserved(check: Conservation): TamperFinding | null {
    this.checkDue = this.nextCheck();
    try {
      const f = check.check();
      this.checks.inc({ map_read_by: check.lastSum });
      return f;
    } catch (e) {
      if (!isKernelQueryError(e)) throw e;
      this.say(`conservation check could not read the flow map: ${e.message}`);
      return null;
    }
  }

  /**
   * Half an interval early: the timer's ticks come about an interval apart, a little early or late, and the
   * check is due on the every-th of them, not on the one after.
   */
  private nextCheck(): number {
    const every = this.conservation?.every ?? 0;
    return performance.now() + (every - 0.5) * this.cfg.intervalMs;
  }

  private record(evidence: EvidenceLog, findings: TamperFinding[]): void {
    this.findings.record(evidence, findings);
  }

  /** An event during the run (a tamper finding, a signer lost and back). */
  add(event: string, data: Record<string, unknown> = {}): void {
    this.op.add(event, data);
  }

  /** Writes the bundle and appends its attest record to `evidence` (still open). */
  async finish(evidence: EvidenceLog, outcome: Record<string, unknown> = {}): Promise<void> {
    this.self.close(); // no look at the kernel after the stop's detach
    this.flowSum?.close();
    await this.changes.finish();
    this.op.add("stopping", outcome);
    const sbom = await this.sbom;
    const p = this.cfg.pkcs11;
    const { signer, error, release } = bundleSigner(evidence, { modulePath: p.modulePath, tokenLabel: p.tokenLabel, keyLabel: p.keyLabel, pin: p.pin });
    try {
      const b = writeBundle(this.op, { dir: attestDir(this.cfg.auditDir), signer, signerError: error, outcome: { status: "ok" }, sbom });
      const seq = appendAttest(evidence, this.cfg.auditDir, b);
      this.say(`attestation bundle ${b.files.jsonl} (signature ${b.signatureStatus}), attest record seq ${seq}`);
    } catch (e) {
      if (!(e instanceof AtoError && (e.code === "IO" || e.code === "CORRUPT"))) throw e;
      this.say(`attestation bundle of ${this.op.id} not written: ${e.message}`);
    } finally {
      release();
    }
  }
}

/**
 * The key the stop's bundle is signed with: the log's own signer while it works (the same key as the
 * checkpoints', signing through the session already open: fin measured 1.4–2.6 ms of the stop for opening a
 * second one and 0.2–0.3 ms for closing it), else a session of its own on `key`, as before (the log lost its
 * signer and no checkpoint has reopened it yet, or has none). `release` closes only a session opened here:
 * the log still owns, uses (the final checkpoint comes after the bundle) and closes its own.
 */
export function bundleSigner(evidence: EvidenceLog, key: OpenSignerOptions): { signer: CheckpointSigner | null; error?: string; release(): void } {
  const lent = evidence.lentSigner();
  if (lent) return { signer: lent, release: () => {} };
  const { signer, error } = tryOpenSigner(key);
  return { signer, error, release: () => signer?.close() };
}
