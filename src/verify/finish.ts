/**
 * After the last line: what is signed and what is not, the checks that need the whole log
 * (trusted checkpoint reached, unsigned tail within policy, anything signed at all), and
 * the result with its exit code.
 */
import { base64, frontierRoot } from "../tree/index.ts";
import { EXIT } from "./findings.ts";
import { retiredReport } from "./retired.ts";
import { startOf } from "./start.ts";
import type { Alias } from "./inputs.ts";
import type { VerifyReport } from "./report.ts";
import type { RunState } from "./state.ts";

export function finish(s: RunState, missingActive: string[], aliases: Alias[]): VerifyReport {
  const size = s.tree?.size ?? 0;
  for (const dir of missingActive) s.findings.add({ severity: "incomplete", file: dir, message: "the active segment signed_evidence.log is missing: the newest part of the log is gone" });
  for (const a of aliases) s.findings.add({ severity: "incomplete", file: a.path, message: `is the same file as ${a.sameAs} (a symlink, a hard link, or a path given twice): read once, as ${a.sameAs}; whatever this name should hold was not seen` });
  const t = s.opts.trusted;
  if (t && !s.trustedChecked && s.tree && s.tree.size < t.size) {
    s.findings.add({ severity: "incomplete", file: t.file, message: `the log has ${size} lines but the trusted checkpoint covers ${t.size}: ${t.size - size} lines were cut from its end` });
  }
  for (const { finding, count } of s.unknownKeys.values()) if (count > 1) finding.message += ` (and ${count - 1} more checkpoints like it)`;
  const start = startOf(s);
  for (const seg of s.segments) {
    const covered = Math.max(0, Math.min(seg.covered_to, seg.end_leaf) - seg.start_leaf);
    seg.lines_signed = Math.min(covered, seg.lines);
    seg.lines_unsigned = seg.lines - seg.lines_signed;
    const own = s.findings.of(seg.file); // all of them, not only those listed
    seg.status = own.tampered ? "tampered" : own.untrusted ? "untrusted" : own.incomplete ? "incomplete" : seg.lines_unsigned > 0 ? "unsigned" : "verified";
  }
  // The unsigned tail: lines no good checkpoint covers, in the segments since the last break.
  const tail = s.run.reduce((a, x) => a + x.lines_unsigned, 0);
  const lines = s.segments.reduce((a, x) => a + x.lines, 0);
  if (s.opts.maxUnsigned !== undefined && tail > s.opts.maxUnsigned) {
    const after = s.lastGood ? `after the last signed checkpoint (${s.lastGood.file} line ${s.lastGood.line})` : "and no checkpoint is signed";
    s.findings.add({ severity: "incomplete", file: s.segments.at(-1)?.file, message: `${tail} lines ${after}; --max-unsigned allows ${s.opts.maxUnsigned}` });
  } else if (!s.lastGood && lines > 0 && s.findings.counts.untrusted === 0) {
    s.findings.add({ severity: "incomplete", message: "no checkpoint in the log has a good signature: nothing is verified" });
  }
  const result = s.findings.worst;
  const checkpoints = s.segments.reduce((a, x) => ({ ok: a.ok + x.checkpoints.ok, failed: a.failed + x.checkpoints.failed }), { ok: 0, failed: 0 });
  return {
    result,
    exit_code: EXIT[result],
    summary: summary(s, result, tail),
    origin: s.origin ?? null,
    log_id: s.logId ?? null,
    keys: s.opts.keys.map((k) => ({ file: k.path, algorithm: k.algorithm, spki_sha256: k.fingerprint })),
    segments: s.segments,
    total: {
      files: s.segments.length,
      lines,
      bytes: s.segments.reduce((a, x) => a + x.bytes, 0),
      tree_size: start.checked && !s.reanchored && s.tree ? size : null,
      root: start.checked && !s.reanchored && s.tree ? base64(frontierRoot(s.tree.frontier)) : null,
      start_tree_size: start.size,
      start_checked: start.checked,
      checkpoints,
      lines_signed: s.segments.reduce((a, x) => a + x.lines_signed, 0),
      lines_unsigned: s.segments.reduce((a, x) => a + x.lines_unsigned, 0),
      unsigned_tail: Math.max(0, tail),
      last_signed: s.lastGood ? { file: s.lastGood.file, line: s.lastGood.line, tree_size: s.lastGood.treeSize } : null,
    },
    trusted_checkpoint: t ? { file: t.file, tree_size: t.size, root: base64(t.root), status: trustedStatus(s) } : null,
    from_checkpoint: s.opts.from ? { file: s.opts.from.file, tree_size: s.opts.from.size, root: base64(s.opts.from.root), status: s.fromResult ?? "not reached" } : null,
    retired: retiredReport(s),
    findings: s.findings.list,
    findings_total: s.findings.counts,
  };
}

function trustedStatus(s: RunState): "consistent" | "mismatch" | "log is shorter" | "not checkable" {
  const t = s.opts.trusted!;
  if (!s.trustedChecked) return (s.tree?.size ?? 0) < t.size ? "log is shorter" : "not checkable";
  return s.trustedResult ?? "not checkable";
}

function summary(s: RunState, result: string, tail: number): string {
  const first = s.findings.first();
  const where = first ? [first.file, first.line !== undefined ? `line ${first.line}` : undefined].filter(Boolean).join(" ") : "";
  if (first) return `${result.toUpperCase()}: ${where ? `${where}: ` : ""}${first.message}`;
  const tailText = tail > 0 ? `; ${tail} line${tail === 1 ? "" : "s"} after the last signed checkpoint are not signed yet` : "";
  return `VERIFIED: every line up to tree size ${s.lastGood?.treeSize ?? 0} hashes to a checkpoint signed by the given key${tailText}`;
}
