/**
 * `ato verify PATH… --pubkey public.pem`: checks an evidence log offline (no HSM, no network,
 * no root) and says in plain words what it found. The exit codes are its contract, listed
 * in its --help (EXIT_HELP).
 */
import { defineCommand } from "citty";
import { AtoError, EXIT_CODES } from "../errors.ts";
import { renderText, verify, type ExportResult, type VerifyReport } from "../verify/index.ts";
import { repeated } from "./_args.ts";
import { WitnessPass, combinedResult, parseWitnessPolicy, witnessJson, witnessText } from "../verify/witnesses.ts";
import { exportCosignatures } from "../verify/witness-export.ts";

/** Shown by `ato verify --help`; the codes are read from EXIT_CODES of src/errors.ts, the one table. */
export const EXIT_HELP = [
  "Exit codes:",
  [0, "verified: every line up to the last signed checkpoint hashes to it (lines after it are reported)"],
  [EXIT_CODES.TAMPERED, "tampered: a line, checkpoint or file does not match what was signed, or could not have been written by ato"],
  [EXIT_CODES.INCOMPLETE, "incomplete: something was not seen (missing segments or lines, an empty file, --max-unsigned exceeded)"],
  [EXIT_CODES.UNTRUSTED, "untrusted: checkpoints are signed by a key other than the given one"],
  [EXIT_CODES.USAGE, "usage: bad arguments, or a path that is not a readable regular file or directory"],
  [EXIT_CODES.INTERNAL, "internal error: a bug in ato, not a verdict about the log"],
].map((row) => (typeof row === "string" ? row : `  ${String(row[0]).padEnd(3)} ${row[1]}`)).join("\n");

export default defineCommand({
  meta: { name: "verify", description: `verify an evidence log (audit directory or segment files) with a public key, offline\n\n${EXIT_HELP}\n` },
  args: {
    paths: { type: "positional", description: "audit directory, or one or more segment files", required: true },
    pubkey: { type: "string", description: "PEM public key of the checkpoint signing key (repeatable)", required: true },
    "trusted-checkpoint": { type: "string", description: "a signed checkpoint saved elsewhere: the log must reach it and match it" },
    "from-checkpoint": { type: "string", description: "a signed checkpoint you trust to start from: the segments before it may be left out (the log must reach it and match it)" },
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
    const pass = policy && new WitnessPass(policy); // fed by verify's own pass: the log is read once
    const exportSeq = count("export-proof", args["export-proof"]);
    if (exportSeq !== undefined && !args.out) throw new AtoError("--export-proof needs --out DIR", "USAGE");
    const { report, exported, exportError } = verify({
      paths: args._.map(String),
      pubkeys: repeated(rawArgs, "pubkey"),
      trustedCheckpoint: args["trusted-checkpoint"],
      fromCheckpoint: args["from-checkpoint"],
      maxUnsigned: count("max-unsigned", args["max-unsigned"]),
      exportSeq,
      outDir: args.out,
      witness: pass,
    });
    const witnesses = pass?.report();
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
