/**
 * What `ato verify` found, most serious first. Each finding names the file and line where
 * it was seen; the exit code is that of the most serious one:
 *   tampered (1) > untrusted (3) > incomplete (2) > notice (0).
 * A content change makes the log "tampered" even when its key is also unknown, because
 * the hashes prove the change without any key.
 */
export type Severity = "tampered" | "untrusted" | "incomplete" | "notice";

export interface Finding {
  severity: Severity;
  /** File as given on the command line or found in the directory. */
  file?: string;
  /** 1-based line number in that file. */
  line?: number;
  seq?: number;
  /** When the damage is known only to lie in a range: first and last line (inclusive). */
  lines?: { from: { file: string; line: number }; to: { file: string; line: number } };
  message: string;
}

export const EXIT: Record<Severity | "verified", number> = { verified: 0, tampered: 1, incomplete: 2, untrusted: 3, notice: 0 };
const RANK: Record<Severity, number> = { tampered: 3, untrusted: 2, incomplete: 1, notice: 0 };

/** Keeps the first `cap` findings of each severity and counts the rest: memory stays bounded. */
export class Findings {
  readonly list: Finding[] = [];
  readonly counts: Record<Severity, number> = { tampered: 0, untrusted: 0, incomplete: 0, notice: 0 };

  constructor(private readonly cap = 50) {}

  add(f: Finding): Finding {
    if (this.counts[f.severity]++ < this.cap) this.list.push(f);
    return f;
  }

  /** Raises a finding kept earlier (a seq gap later explained by a hash mismatch). */
  raise(f: Finding, to: Severity): void {
    if (RANK[to] <= RANK[f.severity]) return;
    this.counts[f.severity]--;
    this.counts[to]++;
    f.severity = to;
  }

  get worst(): Exclude<Severity, "notice"> | "verified" {
    for (const s of ["tampered", "untrusted", "incomplete"] as const) if (this.counts[s] > 0) return s;
    return "verified";
  }

  /** The first finding of the worst severity, in log order: "the first bad line". */
  first(): Finding | undefined {
    const w = this.worst;
    return w === "verified" ? undefined : this.list.find((f) => f.severity === w);
  }
}
