/**
 * `ato verify PATH… --pubkey public.pem`: checks an evidence log offline (no HSM, no network,
 * no root) and says in plain words what it found. Exit codes: 0 verified, 1 tampered,
 * 2 incomplete, 3 untrusted or unknown key, 64 usage.
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { renderText, verify, type ExportResult, type VerifyReport } from "../verify/index.ts";
import { repeated } from "./_args.ts";
import { checkWitnesses, combinedResult, parseWitnessPolicy, witnessJson, witnessText } from "../verify/witnesses.ts";
import { exportCosignatures } from "../verify/witness-export.ts";

export default defineCommand({
  meta: { name: "verify", description: "verify an evidence log (audit directory or segment files) with a public key, offline" },
  args: {
    paths: { type: "positional", description: "audit directory, or one or more segment files", required: true },
    pubkey: { type: "string", description: "PEM public key of the checkpoint signing key (repeatable)", required: true },
    "trusted-checkpoint": { type: "string", description: "a signed checkpoint saved elsewhere: the log must reach it and match it" },
    json: { type: "boolean", description: "print the report as JSON" },
    "export-proof": { type: "string", description: "export this seq's record, inclusion proof, checkpoint, signature and key (needs --out)" },
    out: { type: "string", description: "directory for --export-proof" },
    "max-unsigned": { type: "string", description: "lines allowed after the last signed checkpoint (default: any, reported)" },
    witness: { type: "string", description: "verifier key (name+id+base64, type 0x04) of a witness whose cosignatures count (repeatable)" },
    "witness-quorum": { type: "string", description: "cosignatures required from the witnesses given (default: all of them)" },
    "witness-every": { type: "boolean", description: "require the quorum on every checkpoint that covers evidence, not only the latest" },
  },
  run({ args, rawArgs }) {
    const policy = repeated(rawArgs, "witness").length ? parseWitnessPolicy(repeated(rawArgs, "witness"), args["witness-quorum"], Boolean(args["witness-every"])) : undefined;
    const exportSeq = count("export-proof", args["export-proof"]);
    if (exportSeq !== undefined && !args.out) throw new AtoError("--export-proof needs --out DIR", "USAGE");
    const { report, exported, exportError } = verify({
      paths: args._.map(String),
      pubkeys: repeated(rawArgs, "pubkey"),
      trustedCheckpoint: args["trusted-checkpoint"],
      maxUnsigned: count("max-unsigned", args["max-unsigned"]),
      exportSeq,
      outDir: args.out,
    });
    const witnesses = policy && checkWitnesses(args._.map(String), policy);
    const cosigned = witnesses && exported ? exportCosignatures(witnesses, policy!.vkeys, exported.treeSize, exported.dir) : [];
    if (args.json) console.log(JSON.stringify({ ...report, ...(exported ? { export: { ...exported, cosignatures: cosigned } } : {}), ...(witnesses ? { witnesses: witnessJson(witnesses) } : {}) }, null, 2));
    else console.log(renderText(report) + (exported ? `\n\n${exportText(exported)}` : "") + (witnesses ? `\n\n${witnessText(witnesses)}` : "") + (cosigned.length ? `\nCheck the cosignatures without ato:\n${cosigned.map((c) => `  ${c}`).join("\n")}` : ""));
    if (exportError) throw exportError;
    const result = combinedResult(report.result, witnesses);
    if (witnesses && result !== report.result) throw new AtoError(`evidence log ${result.toUpperCase()}: ${witnesses.findings.find((f) => f.severity === result)?.message ?? "witnesses"}`, CODE[result as keyof typeof CODE]);
    // citty drops a subcommand's return value, so a failed verification leaves through the
    // top level's error path: the report is on stdout, this one line on stderr.
    if (report.result !== "verified") throw new AtoError(`evidence log ${report.result.toUpperCase()}${firstBad(report)}`, CODE[report.result]);
    return 0;
  },
});

const CODE = { tampered: "TAMPERED", incomplete: "INCOMPLETE", untrusted: "UNTRUSTED" } as const;

function firstBad(r: VerifyReport): string {
  const f = r.findings.find((x) => x.severity === r.result);
  return f?.file ? ` (first at ${f.file}${f.line !== undefined ? ` line ${f.line}` : ""})` : "";
}

function exportText(e: ExportResult): string {
  return [
    `Exported seq ${e.seq} and the checkpoint of tree size ${e.treeSize} that covers it (${e.checkpoint.file} line ${e.checkpoint.line}) to ${e.dir}.`,
    "Check the checkpoint's signature without ato:",
    `  ${e.commands.signature}`,
    "Check that the record is in the signed tree (printf, sha256sum, base64, od):",
    `  ${e.commands.inclusion}`,
  ].join("\n");
}

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new AtoError(`--${name} must be a non-negative integer; got '${v}'`, "USAGE");
  return n;
}
