/**
 * Retiring: the deletion is evidence first. For each segment the plan allows, a `retire` record
 * is appended (what the file was, where the tree stood at its end, the rule, and what allowed it);
 * then one checkpoint is signed over them and synced; only when it is signed are the files deleted
 * (the append-only attribute cleared first, the directory synced after). A crash between the
 * record and the deletion leaves a file its signed record names: the next pass deletes it after
 * checking its SHA-256, and `ato verify` meanwhile verifies it and says it was retired.
 */
import { unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";
import type { RecordData, RetireData } from "../evidence/index.ts";
import { clearAppendOnly } from "../log/attr.ts";
import { syncDir } from "../log/file.ts";
import { base64 } from "../tree/index.ts";
import { carriedRuns } from "./carried.ts";
import type { Decision } from "./plan.ts";

/** What retiring needs of the evidence log (EvidenceLog has it). */
export interface RetireLog {
  appendRecord(kind: "retire", data: RecordData): { seq: number };
  checkpoint(trigger: "manual"): { seq: number; treeSize: number; status: "ok" | "failed"; error: string | undefined };
}

export interface Retired {
  segment: number;
  file: string;
  recordSeq: number;
  rule?: string;
}

export function retireData(d: Extract<Decision, { action: "retire" }>): RetireData {
  const s = d.summary;
  return {
    segment: s.segment, file: s.file, bytes: s.bytes, sha256: s.sha256,
    first_seq: s.firstSeq, last_seq: s.lastSeq, tree_size: s.treeSize, frontier: s.frontier.map(base64), start_frontier: s.startFrontier.map(base64),
    rule: d.rule.text, class: d.rule.class, newest: d.newest, expired: d.expired.toISOString(),
    classes: Object.fromEntries([...s.classes].sort(([a], [b]) => (a < b ? -1 : 1))),
    sinks: d.sinks && d.sinks.map((a) => ({ name: a.name, seq: a.seq!, segment: a.segment! })),
    witness: d.witness,
    carried: carriedRuns(s),
  };
}

/**
 * Writes the retire records, signs a checkpoint over them, then deletes. Throws AtoError("HSM")
 * without deleting anything when that checkpoint could not be signed (the records stay; a later
 * pass deletes once a signed checkpoint covers them). `beforeDelete` is for tests of a crash.
 */
export function applyPlan(log: RetireLog, decisions: Decision[], o: { beforeDelete?: () => void } = {}): Retired[] {
  const done: Retired[] = [];
  const toDelete: Decision[] = [];
  for (const d of decisions) {
    if (d.action === "retire") {
      const { seq } = log.appendRecord("retire", retireData(d) as unknown as RecordData);
      done.push({ segment: d.summary.segment, file: d.summary.file, recordSeq: seq, rule: d.rule.text });
      toDelete.push(d);
    } else if (d.action === "delete") {
      done.push({ segment: d.summary.segment, file: d.summary.file, recordSeq: d.recordSeq });
      toDelete.push(d);
    }
  }
  if (toDelete.length === 0) return done;
  if (decisions.some((d) => d.action === "retire")) {
    const cp = log.checkpoint("manual");
    if (cp.status !== "ok") throw new AtoError(`the checkpoint over the retire records (seq ${cp.seq}) could not be signed (${cp.error}): no segment deleted; the next pass deletes them once a signed checkpoint covers the records`, "HSM");
  }
  o.beforeDelete?.();
  for (const d of toDelete) remove(d.summary.path);
  syncDir(dirname(toDelete[0]!.summary.path));
  return done;
}

function remove(path: string): void {
  clearAppendOnly(path); // fails harmlessly where it was never set; unlink then says what is wrong
  try {
    unlinkSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    throw new AtoError(`cannot delete the retired segment ${path} (${code}): its signed retire record stays, the next pass tries again`, code === "EPERM" || code === "EACCES" ? "PERMISSION" : "IO", { cause: e });
  }
}
