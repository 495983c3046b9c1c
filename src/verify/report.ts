/** The report `ato verify` prints (text) or emits (--json): the JSON is this object. */
import type { Finding, Severity } from "./findings.ts";

export type SegmentStatus = "verified" | "unsigned" | Exclude<Severity, "notice">;

export interface SegmentReport {
  file: string;
  segment: number | null;
  first_seq: number | null;
  last_seq: number | null;
  lines: number;
  /** Bytes read: the file's size when verification started. */
  bytes: number;
  checkpoints: { ok: number; failed: number };
  /** Lines a good checkpoint covers, and lines none does (yet). */
  lines_signed: number;
  lines_unsigned: number;
  /** Bytes of a line still being written at the end of the active segment. */
  in_progress_bytes: number;
  status: SegmentStatus;
  /** Leaf indices of the file's first line and one past its last (internal, for coverage). */
  start_leaf: number;
  end_leaf: number;
  covered_to: number;
}

export interface VerifyReport {
  result: "verified" | "tampered" | "incomplete" | "untrusted";
  exit_code: number;
  /** One sentence: what was found, naming the first bad line. */
  summary: string;
  origin: string | null;
  log_id: string | null;
  keys: { file: string; algorithm: string; spki_sha256: string }[];
  segments: SegmentReport[];
  total: {
    files: number;
    lines: number;
    bytes: number;
    tree_size: number;
    root: string | null;
    checkpoints: { ok: number; failed: number };
    lines_signed: number;
    lines_unsigned: number;
    /** Lines after the last good checkpoint line. */
    unsigned_tail: number;
    last_signed: { file: string; line: number; tree_size: number } | null;
  };
  trusted_checkpoint: { file: string; tree_size: number; root: string; status: "consistent" | "mismatch" | "log is shorter" | "not checkable" } | null;
  findings: Finding[];
  findings_total: Record<Severity, number>;
}
