/**
 * `ato run` from start to stop as one operation: at start, what the agent was asked to do (the configuration,
 * secrets shown only as set/unset) and what it attached; at stop, the bundle, signed by a second session on the
 * same key, and its attest record appended to the agent's own log before the final checkpoint, which covers it.
 * Records that `ato attest run` left pending while this agent held the log are appended at start.
 * A bundle that cannot be written (full disk) is reported and never stops the agent from stopping.
 */
import { AtoError } from "../errors.ts";
import { redact, type AgentConfig } from "../config/index.ts";
import type { EvidenceLog } from "../log/index.ts";
import { writeBundle } from "./bundle.ts";
import { appendAttest, attestDir, flushPending } from "./ledger.ts";
import { Operation } from "./operation.ts";
import { tryOpenSigner } from "./signing.ts";

export class AgentOperation {
  private constructor(private readonly cfg: AgentConfig, readonly op: Operation, private readonly say: (m: string) => void) {}

  static begin(cfg: AgentConfig, evidence: EvidenceLog, facts: Record<string, unknown>, say: (m: string) => void): AgentOperation {
    const pending = flushPending(evidence, cfg.auditDir);
    if (pending) say(`appended ${pending} attest record(s) that waited for the log`);
    const op = Operation.begin("ato run", "agent", { config: redact(cfg) as unknown as Record<string, unknown>, pid: process.pid });
    op.add("started", facts);
    return new AgentOperation(cfg, op, say);
  }

  /** An event during the run (a tamper finding, a signer lost and back). */
  add(event: string, data: Record<string, unknown> = {}): void {
    this.op.add(event, data);
  }

  /** Writes the bundle and appends its attest record to `evidence` (still open). */
  finish(evidence: EvidenceLog, outcome: Record<string, unknown> = {}): void {
    this.op.add("stopping", outcome);
    const p = this.cfg.pkcs11;
    const { signer, error } = tryOpenSigner({ modulePath: p.modulePath, tokenLabel: p.tokenLabel, keyLabel: p.keyLabel, pin: p.pin });
    try {
      const b = writeBundle(this.op, { dir: attestDir(this.cfg.auditDir), signer, signerError: error, outcome: { status: "ok" }, sbom: { bpfObject: this.cfg.bpfObject, modulePath: p.modulePath } });
      const seq = appendAttest(evidence, this.cfg.auditDir, b);
      this.say(`attestation bundle ${b.files.jsonl} (signature ${b.signatureStatus}), attest record seq ${seq}`);
    } catch (e) {
      if (!(e instanceof AtoError && (e.code === "IO" || e.code === "CORRUPT"))) throw e;
      this.say(`attestation bundle of ${this.op.id} not written: ${e.message}`);
    } finally {
      signer?.close();
    }
  }
}
