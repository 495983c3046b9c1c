/**
 * The continuous check of one rebuilt directory: `ato verify`'s own engine (src/verify) run on
 * it, never a second implementation, and the figures the fleet watches taken from its report.
 */
import { AtoError } from "../errors.ts";
import { verify, type VerifyReport } from "../verify/index.ts";
import type { OriginDir } from "./origin.ts";

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
  findings: { seq: number; kind: string; message: string }[];
}

export function checkOrigin(o: OriginDir, pubkeys: string[], behind: number): OriginStatus {
  const base = { origin: o.origin, dir: o.dir, missing: o.missing, gaps: o.gaps.slice(0, 20), behind, findings: o.findings.slice(0, 20) };
  let report: VerifyReport;
  try {
    report = verify({ paths: [o.dir], pubkeys }).report;
  } catch (e) {
    if (e instanceof AtoError && e.code !== "INTERNAL") return { ...base, result: "not verified", summary: e.message, tree_size: null, last_signed_age_s: null };
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
  };
}
