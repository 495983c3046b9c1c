/**
 * What `ato verify` found, most serious first. Each finding names the file and line where
 * it was seen; the exit code is that of the most serious one:
 *   tampered (1) > untrusted (3) > incomplete (2) > notice (0).
 * A content change makes the log "tampered" even when its key is also unknown, because
 * the hashes prove the change without any key.
 */
import { EXIT_CODES } from "../errors.ts";

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

/** A verdict's exit code: the one table is EXIT_CODES of src/errors.ts, the codes the CLI leaves with. */
export const EXIT: Record<Severity | "verified", number> = { verified: 0, tampered: EXIT_CODES.TAMPERED, incomplete: EXIT_CODES.INCOMPLETE, untrusted: EXIT_CODES.UNTRUSTED, notice: 0 };
const RANK: Record<Severity, number> = { tampered: 3, untrusted: 2, incomplete: 1, notice: 0 };

/**
 * Findings of one severity that a later line may raise (seq gaps, until a checkpoint shows
 * whether lines were removed): the listed ones themselves, the rest only as counts, so the
 * set stays small however many there are.
 */
export class FindingSet {
  listed: Finding[] = [];
  byFile = new Map<string, number>();
  constructor(readonly severity: Severity) {}

  add(f: Finding, listed: boolean): void {
    if (listed) this.listed.push(f);
    this.byFile.set(f.file ?? "", (this.byFile.get(f.file ?? "") ?? 0) + 1);
  }

  clear(): void {
    this.listed = [];
    this.byFile.clear();
  }
}

const none = (): Record<Severity, number> => ({ tampered: 0, untrusted: 0, incomplete: 0, notice: 0 });

/**
 * Keeps the first `cap` findings of each severity for the report and counts all of them,
 * in total and per file: memory stays bounded, and a verdict (the log's or a segment's)
 * never depends on which findings made it into the list.
 */
export class Findings {
  readonly list: Finding[] = [];
  readonly counts: Record<Severity, number> = none();
  private readonly perFile = new Map<string, Record<Severity, number>>();

  constructor(private readonly cap = 50) {}

  add(f: Finding): Finding {
    if (this.counts[f.severity]++ < this.cap) this.list.push(f);
    this.count(f.file, f.severity, 1);
    return f;
  }

  /** Adds a finding that may be raised later, to `set`. */
  addTo(set: FindingSet, f: Finding): Finding {
    const listed = this.counts[f.severity] < this.cap;
    set.add(this.add(f), listed);
    return f;
  }

  /** Raises a finding kept earlier (a seq gap later explained by a hash mismatch). */
  raise(f: Finding, to: Severity): void {
    if (RANK[to] <= RANK[f.severity]) return;
    this.counts[f.severity]--;
    this.counts[to]++;
    this.count(f.file, f.severity, -1);
    this.count(f.file, to, 1);
    f.severity = to;
  }

  /** Moves a finding kept earlier to another severity, down too (a missing segment a retire record explains, retired.ts). */
  settle(f: Finding, to: Severity): void {
    if (f.severity === to) return;
    this.counts[f.severity]--;
    this.counts[to]++;
    this.count(f.file, f.severity, -1);
    this.count(f.file, to, 1);
    f.severity = to;
  }

  /** Raises every finding of a set kept earlier, listed or only counted. */
  raiseAll(set: FindingSet, to: Severity): void {
    for (const f of set.listed) f.severity = to;
    for (const [file, n] of set.byFile) {
      this.counts[set.severity] -= n;
      this.counts[to] += n;
      this.count(file || undefined, set.severity, -n);
      this.count(file || undefined, to, n);
    }
    set.clear();
  }

  /** All findings about one file, by severity (listed or not). */
  of(file: string): Record<Severity, number> {
    return this.perFile.get(file) ?? none();
  }

  private count(file: string | undefined, severity: Severity, by: number): void {
    if (file === undefined) return;
    let c = this.perFile.get(file);
    if (!c) this.perFile.set(file, (c = none()));
    c[severity] += by;
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
