/** The report `ato verify` prints (text) or emits (--json): the JSON is this object. */
import type { Finding, Severity } from "./findings.ts";
import type { RetiredReport } from "./retired.ts";

export type SegmentStatus = "verified" | "unsigned" | Exclude<Severity, "notice">;

export interface SegmentReport {
  file: string;
  segment: number | null;
  first_seq: number | null;
  last_seq: number | null;
  lines: number;
  /** Bytes checked: the complete lines read (never more than were hashed). */
  bytes: number;
  /** The file's size when verification started. */
  file_bytes: number;
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
    /** Lines and bytes checked. */
    lines: number;
    bytes: number;
    /** The tree size and root the checked lines reach; null when they rest on a size a file records but the verifier did not see (missing first segments, a break in the chain). */
    tree_size: number | null;
    root: string | null;
    /** Tree size before the first checked line, and whether the verifier saw (or was given) what precedes it. */
    start_tree_size: number;
    start_checked: boolean;
    checkpoints: { ok: number; failed: number };
    lines_signed: number;
    lines_unsigned: number;
    /** Lines after the last good checkpoint line. */
    unsigned_tail: number;
    last_signed: { file: string; line: number; tree_size: number } | null;
  };
  trusted_checkpoint: { file: string; tree_size: number; root: string; status: "consistent" | "mismatch" | "log is shorter" | "not checkable" } | null;
  /** --from-checkpoint: where verification starts, and whether the log reached it with its root. */
  from_checkpoint: { file: string; tree_size: number; root: string; status: "consistent" | "mismatch" | "not checkable" | "not reached" } | null;
  /** Segments retention deleted (each named by a retire record in the log), and whether each is gone as recorded. */
  retired: RetiredReport[];
  findings: Finding[];
  findings_total: Record<Severity, number>;
}
