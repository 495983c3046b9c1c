/** The human report: one line per segment, its findings under it, then the total and the verdict. */
import { basename } from "node:path";
import type { Finding } from "./findings.ts";
import type { SegmentReport, VerifyReport } from "./report.ts";

export function renderText(r: VerifyReport): string {
  const out: string[] = [];
  const width = Math.max(...r.segments.map((s) => basename(s.file).length), 10);
  for (const seg of r.segments) {
    out.push(`${basename(seg.file).padEnd(width)}  ${segmentLine(seg)}`);
    for (const f of r.findings.filter((x) => x.file === seg.file)) out.push(`    ${findingLine(f)}`);
  }
  for (const f of r.findings.filter((x) => !r.segments.some((s) => s.file === x.file))) out.push(`${findingLine(f)}`);
  const more = Object.entries(r.findings_total).reduce((a, [, n]) => a + n, 0) - r.findings.length;
  if (more > 0) out.push(`    … and ${more} more findings (see --json)`);
  for (const x of r.retired) {
    const segs = x.last_segment > x.segment ? `segments ${x.segment}–${x.last_segment}` : `segment ${x.segment}`;
    const via = x.bytes === null ? `carried by the retire record at seq ${x.record.seq}` : `${x.bytes} bytes, retire record at seq ${x.record.seq}`;
    out.push(`Retired: ${x.file} (${segs}, seq ${x.first_seq}–${x.last_seq}) by rule ${x.rule}, ${via}: ${x.status}.`);
  }
  out.push("");
  out.push(totalLine(r));
  if (r.from_checkpoint) out.push(`Starting checkpoint ${r.from_checkpoint.file} (tree size ${r.from_checkpoint.tree_size}): ${r.from_checkpoint.status}.`);
  if (r.trusted_checkpoint) out.push(`Trusted checkpoint ${r.trusted_checkpoint.file} (tree size ${r.trusted_checkpoint.tree_size}): ${r.trusted_checkpoint.status}.`);
  out.push(`${r.summary} (exit ${r.exit_code})`);
  return out.join("\n");
}

function segmentLine(s: SegmentReport): string {
  const seq = s.first_seq === null ? "no records" : `seq ${s.first_seq}–${s.last_seq}`;
  const cps = `${s.checkpoints.ok} signed${s.checkpoints.failed ? `, ${s.checkpoints.failed} unsigned` : ""} checkpoint${s.checkpoints.ok + s.checkpoints.failed === 1 ? "" : "s"}`;
  const state = {
    verified: "verified",
    unsigned: `verified up to line ${s.lines_signed}; ${s.lines_unsigned} line${s.lines_unsigned === 1 ? "" : "s"} not signed yet`,
    tampered: "TAMPERED",
    untrusted: "UNTRUSTED KEY",
    incomplete: "INCOMPLETE",
  }[s.status];
  const progress = s.in_progress_bytes ? `, ${s.in_progress_bytes} bytes in progress` : "";
  return `segment ${s.segment ?? "?"}  ${seq}  ${s.lines} lines, ${cps}${progress}: ${state}`;
}

function findingLine(f: Finding): string {
  const where = [f.line !== undefined ? `line ${f.line}` : "", f.seq !== undefined ? `(seq ${f.seq})` : ""].filter(Boolean).join(" ");
  const label = f.severity === "notice" ? "note" : f.severity.toUpperCase();
  return `${label}${where ? ` ${where}` : ""}: ${f.message}`;
}

function totalLine(r: VerifyReport): string {
  const t = r.total;
  const mb = (t.bytes / 1e6).toFixed(t.bytes < 1e7 ? 2 : 0);
  const signed = t.last_signed ? `signed up to tree size ${t.last_signed.tree_size} (${basename(t.last_signed.file)} line ${t.last_signed.line})` : "no good signature";
  const tail = t.unsigned_tail ? `; ${t.unsigned_tail} line${t.unsigned_tail === 1 ? "" : "s"} after the last signed checkpoint` : "";
  const key = r.keys.map((k) => `${k.algorithm} key ${k.file}`).join(", ");
  const size = t.tree_size !== null ? `tree size ${t.tree_size}` : !t.start_checked ? `tree size not known (the lines before tree size ${t.start_tree_size} were not seen)` : "tree size not known (the chain of segments breaks)";
  return `Total: ${t.files} file${t.files === 1 ? "" : "s"}, ${t.lines} lines checked (${mb} MB), ${size}, ${t.checkpoints.ok} signed and ${t.checkpoints.failed} unsigned checkpoints; ${signed}${tail}. Origin ${r.origin ?? "?"}, ${key}.`;
}
