/**
 * `ato retire --audit-dir DIR [--retention internal=30d,…] [--dry-run] [--json]`: one retention
 * pass by hand, for a log no agent is writing (`ato run --retention` does the same at its own
 * cadence). Prints, per rotated segment, whether it is retired and by which rule, or why it is
 * kept (which rule, which sink, which witness). Retiring writes a signed retire record before each
 * deletion, so it needs the signing key like `ato run`.
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { commandArgs, settingsFor } from "./_args.ts";

export default defineCommand({
  meta: { name: "retire", description: "retire rotated segments past their class's retention (each deletion recorded first as signed evidence); --dry-run says what would go and why the rest stays" },
  args: commandArgs("retire"),
  async run({ args, rawArgs }) {
    const s = settingsFor("retire", args, rawArgs);
    const { Retainer, policyFrom } = await import("../retain/index.ts");
    const auditDir = s.get("auditDir")!;
    const policy = policyFrom({
      rules: s.get("retention") ?? [],
      requireForward: s.given("retentionRequireForward") ? s.get("retentionRequireForward") : undefined,
      requireWitness: s.given("retentionRequireWitness") ? s.get("retentionRequireWitness") : undefined,
      forwardConfig: s.get("forwardConfig"), forwardSinks: s.get("forward") ?? [], witnesses: s.get("witnesses") ?? [],
    });
    const retainer = new Retainer(auditDir, policy);
    const dry = s.get("dryRun") === true;
    let plan = await retainer.plan();
    let retired: { segment: number; file: string; recordSeq: number; rule?: string }[] = [];
    if (!dry && plan.decisions.some((d) => d.action !== "keep")) {
      const { openSigner } = await import("../signer/index.ts");
      const { EvidenceLog } = await import("../log/index.ts");
      const opts = { modulePath: s.get("modulePath")!, tokenLabel: s.get("tokenLabel"), keyLabel: s.get("keyLabel")!, pin: s.get("pin") };
      const signer = openSigner(opts);
      let log;
      try {
        log = EvidenceLog.open({ auditDir, signer, reopenSigner: () => openSigner(opts), checkpointIntervalMs: 0, onWarning: (m) => console.error(`ato retire: evidence log: ${m}`) });
      } catch (e) {
        signer.close();
        if (e instanceof AtoError && e.code === "BUSY") throw new AtoError(`${e.message}: while ato run writes this log, it retires at its own cadence (give it --retention); ato retire --dry-run shows the plan`, "BUSY", { cause: e });
        throw e;
      }
      try {
        const r = await retainer.pass(log);
        plan = r.plan;
        retired = r.retired;
      } finally {
        log.close();
      }
    }
    const rows = plan.decisions.map((d) => ({
      file: d.summary.file, segment: d.summary.segment, first_seq: d.summary.firstSeq, last_seq: d.summary.lastSeq, bytes: d.summary.bytes,
      action: d.action === "keep" ? "keep" : dry ? "would retire" : "retired",
      ...(d.action === "retire" ? { rule: d.rule.text, expired: d.expired.toISOString(), sinks: d.sinks, witness: d.witness } : {}),
      ...(d.action === "delete" ? { why: d.why } : {}),
      ...(d.action === "keep" ? { reasons: d.reasons } : {}),
    }));
    if (s.get("json")) {
      console.log(JSON.stringify({ audit_dir: auditDir, dry_run: dry, rules: [...policy.rules.values()].map((r) => r.text), require_forward: policy.requireSinks, require_witness: policy.requireWitness, segments: rows, retired, problems: plan.problems }, null, 2));
    } else {
      if (policy.rules.size === 0) console.log("no retention rule (--retention CLASS=DURATION): every segment is kept");
      for (const r of rows) {
        const head = `${r.file}  segment ${r.segment}  seq ${r.first_seq}–${r.last_seq}  ${r.bytes} bytes: `;
        if (r.action === "keep") console.log(`${head}kept: ${r.reasons!.join("; ") || "no record in it has a class with a rule"}`);
        else console.log(`${head}${r.action}${r.rule ? ` by ${r.rule} (expired ${r.expired})` : ` (${r.why})`}`);
      }
      if (rows.length === 0) console.log("no rotated segment (the active one is never retired)");
      for (const p of plan.problems) console.error(`ato retire: ${p}`);
    }
    process.exitCode = plan.problems.length ? 1 : 0;
  },
});
