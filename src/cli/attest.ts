/**
 * `ato attest`: signed bundles for operations.
 *   run     ato attest run --name NAME [--watch PATH …] -- COMMAND …   runs COMMAND and records what it changed
 *   verify  ato attest verify --op ID [--pubkey PEM]                   checks one bundle; verify's exit codes
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { attestRun, tokenPublicKey, verifyBundle, type AttestReport } from "../attest/index.ts";
import { commandArgs, settingsFor } from "./_args.ts";

const run = defineCommand({
  meta: { name: "run", description: "run a maintenance command (after --) and write a signed bundle of what it changed under --watch" },
  args: commandArgs("attest run"),
  async run({ args, rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const argv = dash < 0 ? [] : rawArgs.slice(dash + 1);
    const s = settingsFor("attest run", args, dash < 0 ? rawArgs : rawArgs.slice(0, dash));
    const r = await attestRun({
      name: s.get("opName")!, watch: s.get("watch") ?? [], argv, auditDir: s.get("auditDir")!, bpfObject: s.get("bpfObject"),
      signer: { modulePath: s.get("modulePath")!, tokenLabel: s.get("tokenLabel"), keyLabel: s.get("keyLabel")!, pin: s.get("pin") || undefined },
      onWarning: (m) => process.stderr.write(`ato: ${m}\n`),
    });
    const where = "seq" in r.logged ? `evidence log seq ${r.logged.seq} (checkpoint ${r.logged.checkpoint})` : `pending (${r.logged.reason}): ${r.logged.pending}`;
    process.stderr.write(`ato: operation ${r.bundle.opId}: ${r.bundle.files.jsonl} (${r.bundle.events} events, signature ${r.bundle.signatureStatus}), ${where}\n`);
    console.log(r.bundle.opId);
    if (r.exitCode !== 0) process.exitCode = r.exitCode;
  },
});

const verify = defineCommand({
  meta: { name: "verify", description: "verify an operation's bundle: signature, SBOM, hashes, and its digest in the verified evidence log" },
  args: commandArgs("attest verify"),
  run({ args, rawArgs }) {
    const s = settingsFor("attest verify", args, rawArgs);
    let pubkeys = s.get("attestPubkey") ?? [];
    let cleanup = () => {};
    if (pubkeys.length === 0) {
      const k = tokenPublicKey({ modulePath: s.get("modulePath")!, tokenLabel: s.get("tokenLabel"), keyLabel: s.get("keyLabel")!, pin: s.get("pin") || undefined });
      pubkeys = [k.path];
      cleanup = k.cleanup;
    }
    let report: AttestReport;
    try {
      report = verifyBundle({ auditDir: s.get("auditDir")!, opId: s.get("opId")!, pubkeys });
    } finally {
      cleanup();
    }
    console.log(s.get("json") ? JSON.stringify(report, null, 2) : text(report));
    if (report.result !== "verified") throw new AtoError(`bundle ${report.op_id} ${report.result.toUpperCase()}: ${report.findings.find((f) => f.severity === report.result)?.message}`, CODE[report.result]);
  },
});

const CODE = { tampered: "TAMPERED", incomplete: "INCOMPLETE", untrusted: "UNTRUSTED" } as const;

function text(r: AttestReport): string {
  const mark = { ok: "ok  ", tampered: "TAMP", untrusted: "UNTR", incomplete: "INCO" } as const;
  return [`bundle ${r.op_id}: ${r.result.toUpperCase()}`, ...r.findings.map((f) => `  ${mark[f.severity]} ${f.check.padEnd(9)} ${f.message}`)].join("\n");
}

export default defineCommand({
  meta: { name: "attest", description: "signed bundles for operations: run a command as one, verify one" },
  subCommands: { run, verify },
});
