/**
 * Retire records live in segments that are retired in turn. What they said must not go with them:
 * the retire record of a segment carries the runs of segments that the records inside it retired
 * (and what those carried), merged where one run ends where the next begins, so a verifier of
 * what remains still learns where the tree stood around every retired segment.
 */
import type { RetiredRun } from "../evidence/index.ts";
import { base64 } from "../tree/index.ts";
import type { SegmentSummary } from "./scan.ts";

export function carriedRuns(s: SegmentSummary): RetiredRun[] {
  const runs: RetiredRun[] = [];
  for (const { data: r } of s.retires) {
    runs.push({ from: r.segment, to: r.segment, first_seq: r.first_seq, start_frontier: r.startFrontierHashes.map(base64), tree_size: r.tree_size, frontier: r.frontierHashes.map(base64), rules: [r.rule] });
    for (const c of r.carried) runs.push({ from: c.from, to: c.to, first_seq: c.first_seq, start_frontier: c.start_frontier, tree_size: c.tree_size, frontier: c.frontier, rules: c.rules });
  }
  runs.sort((a, b) => a.from - b.from);
  const out: RetiredRun[] = [];
  for (const r of runs) {
    const last = out.at(-1);
    if (last && last.to + 1 === r.from && last.tree_size === r.first_seq) {
      out[out.length - 1] = { ...last, to: r.to, tree_size: r.tree_size, frontier: r.frontier, rules: [...new Set([...last.rules, ...r.rules])] };
    } else if (!(last && r.from <= last.to)) out.push({ ...r, rules: [...r.rules] });
  }
  return out;
}
