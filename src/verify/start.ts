/**
 * Where verification starts. A log given from its first segment starts at tree size 0. One
 * whose first segments are missing starts at the frontier its first file records, and the
 * lines before that were not seen: incomplete, unless the user names a trusted starting
 * point (--from-checkpoint, a signed note of this log at or after that start, whose root
 * the verifier then reaches). The lines before it are the user's to vouch for; every line
 * from the first given file on is checked as usual.
 *
 * Segments retention deleted are not missing: their signed retire records say what they held and
 * where the tree stood after them (retired.ts), and the start is then checked.
 *
 * --trusted-checkpoint (trusted.ts) is a different promise: the log must reach it. It says
 * nothing about lines that were not given, so it never excuses a missing start.
 */
import { equalHashes, frontierRoot } from "../tree/index.ts";
import { settleRetired } from "./retired.ts";
import type { RunState } from "./state.ts";

/** Called when the tree is anchored and after every line: checks the starting checkpoint once the log reaches it. */
export function checkFrom(s: RunState, file: string, line: number): void {
  const t = s.opts.from;
  if (!t || s.fromResult || !s.tree) return;
  if (s.origin !== t.origin) {
    s.fromResult = "not checkable";
    s.findings.add({ severity: "untrusted", file: t.file, message: `the starting checkpoint is for origin '${t.origin}', the log is '${s.origin}'` });
  } else if (s.tree.size > t.size) {
    s.fromResult = "not checkable";
    s.findings.add({ severity: "incomplete", file: t.file, message: `the starting checkpoint (tree size ${t.size}) lies before the first given segment (tree size ${s.tree.size}): the lines between were not seen` });
  } else if (s.tree.size === t.size) {
    s.fromResult = equalHashes(frontierRoot(s.tree.frontier), t.root) ? "consistent" : "mismatch";
    if (s.fromResult === "mismatch") s.findings.add({ severity: "tampered", file, line, message: `the log's first ${t.size} lines (up to here) do not have the root of the starting checkpoint ${t.file}` });
  }
}

/** The tree size before the first checked line, and whether what precedes it was seen or vouched for. */
export function startOf(s: RunState): { size: number; checked: boolean } {
  const gap = s.startGap;
  const t = s.opts.from;
  // Segments deleted by retention left signed retire records: the start they explain is not missing (retired.ts).
  const { startRetired } = settleRetired(s);
  if (t && !s.fromResult && s.tree) s.findings.add({ severity: "incomplete", file: t.file, message: `the log (tree size ${s.tree.size}) does not reach the starting checkpoint's tree size ${t.size}` });
  if (!gap) return { size: 0, checked: s.tree !== undefined };
  if (startRetired) return { size: gap.treeSize, checked: true };
  if (t && s.fromResult === "consistent") {
    s.findings.add({ severity: "notice", file: gap.file, line: 1, message: `starts at segment ${gap.segment} (tree size ${gap.treeSize}); the ${gap.treeSize} lines before it were not given, and are vouched for by the starting checkpoint ${t.file}` });
    return { size: gap.treeSize, checked: true };
  }
  const missing = gap.segment > 2 ? `segments 1–${gap.segment - 1} were` : "segment 1 was";
  s.findings.add({ severity: "incomplete", file: gap.file, line: 1, message: `starts at segment ${gap.segment} (tree size ${gap.treeSize}): ${missing} not given, so the first ${gap.treeSize} lines of the log were not seen (give them, or --from-checkpoint with a signed checkpoint at or after this segment's start)` });
  return { size: gap.treeSize, checked: false };
}
