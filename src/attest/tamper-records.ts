/**
 * A run's tamper findings into its log. Each is told once, as found: the self-check and the conservation check
 * report a finding when it begins, never again, so a finding whose record could not be appended (a full disk)
 * would otherwise be gone. It is kept here and written first at the next try (the next interval's, the final
 * check's), in the order found: once the disk has room again, the log holds every finding of the run.
 */
import { AtoError } from "../errors.ts";
import type { EvidenceLog } from "../log/index.ts";
import type { TamperFinding } from "./self-check.ts";

export class TamperRecords {
  private readonly unwritten: TamperFinding[] = [];

  /**
   * @param tell each finding, once, when it is found (the operation's event, the metric, the log line)
   * @param say a failed write, with what waits
   */
  constructor(private readonly tell: (f: TamperFinding) => void, private readonly say: (m: string) => void) {}

  /** Findings told but not yet in the log. */
  get waiting(): number {
    return this.unwritten.length;
  }

  /**
   * Tells `findings`, then appends them after those still waiting. A failed append (AtoError "IO") leaves that one
   * and the rest waiting and is said, not thrown: the interval goes on to a finding's immediate read of the map,
   * as it does when the collection's own write fails.
   */
  record(evidence: EvidenceLog, findings: TamperFinding[]): void {
    for (const f of findings) this.tell(f);
    this.unwritten.push(...findings);
    try {
      while (this.unwritten.length > 0) {
        evidence.appendRecord("tamper", this.unwritten[0] as unknown as Record<string, unknown>);
        this.unwritten.shift();
      }
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.say(`${this.unwritten.length} tamper record(s) not written yet, kept for the next write: ${e.message}`);
    }
  }
}
