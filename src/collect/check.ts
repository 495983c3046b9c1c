/**
 * The continuous check of one rebuilt directory: `ato verify`'s own engine (src/verify) run on
 * it, never a second implementation, and the figures the fleet watches taken from its report.
 * It resumes where the last clean pass stopped (src/verify/resume.ts), with its state in the
 * collector's own state directory, so a check costs the new lines, not the directory; a state
 * that does not match the files gives a full pass and a finding.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import type { VerifyReport } from "../verify/index.ts";
import { verifyResumable } from "../verify/resume.ts";
import { dirNameOf, type OriginDir } from "./origin.ts";

export interface OriginStatus {
  origin: string;
  dir: string;
  result: VerifyReport["result"] | "not verified";
  summary: string;
  tree_size: number | null;
  /** Seconds since the last checkpoint that verified was written; null before the first. */
  last_signed_age_s: number | null;
  missing: number;
  gaps: [number, number][];
  /** Lines the stream holds for this origin past what the directory holds. */
  behind: number;
  findings: { seq?: number; kind: string; message: string }[];
  /** "incremental": from the saved point on; "full": from the first line. */
  verify_mode: "full" | "incremental" | null;
}

/** The collector's own state, beside the origins' directories (a dot name: never taken for an origin). */
export function stateDirOf(out: string): string {
  return join(out, ".ato-collect");
}

export function checkOrigin(o: OriginDir, pubkeys: string[], behind: number): OriginStatus {
  const findings: OriginStatus["findings"] = o.findings.slice(0, 20);
  const base = { origin: o.origin, dir: o.dir, missing: o.missing, gaps: o.gaps.slice(0, 20), behind, findings };
  let report: VerifyReport;
  let mode: OriginStatus["verify_mode"];
  try {
    const state = stateDirOf(o.out);
    mkdirSync(state, { recursive: true });
    const r = verifyResumable({ dir: o.dir, pubkeys, statePath: join(state, `${dirNameOf(o.origin)}.verified.json`) });
    report = r.report;
    mode = r.mode;
    if (r.mismatch) findings.push({ kind: "state_mismatch", message: `the verified state did not match the rebuilt files (${r.mismatch}): verified again from the first line` });
  } catch (e) {
    if (e instanceof AtoError && e.code !== "INTERNAL") return { ...base, result: "not verified", summary: e.message, tree_size: null, last_signed_age_s: null, verify_mode: null };
    throw e;
  }
  const signed = report.total.last_signed;
  const ts = signed ? o.checkpointTs.get(signed.tree_size) : undefined;
  return {
    ...base,
    result: report.result,
    summary: report.summary,
    tree_size: report.total.tree_size,
    last_signed_age_s: ts ? Math.max(0, (Date.now() - Date.parse(ts)) / 1000) : null,
    verify_mode: mode,
  };
}
