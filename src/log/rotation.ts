/**
 * The file side of a rotation: the active segment (ending in a checkpoint) is renamed to its
 * numbered name, keeping the append-only attribute on the result, and the directory synced.
 * Rotation is refused, never forced, when the name is taken or the rename fails: the writer
 * then keeps appending to the active segment and says why.
 */
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { clearAppendOnly, setAppendOnly } from "./attr.ts";
import { describeErrno } from "./errno.ts";
import { syncDir } from "./file.ts";
import { ACTIVE_LOG_NAME, rotatedName } from "./paths.ts";

export type Renamed = { ok: true; name: string } | { ok: false; reason: string };

/** Whether the active segment can be renamed now: its numbered name must be free. */
export function rotationBlocked(auditDir: string, segment: number): string | undefined {
  const name = rotatedName(segment);
  return existsSync(join(auditDir, name)) ? `${name} already exists` : undefined;
}

/** Renames the (closed) active segment to its numbered name; on failure the caller reopens it (and sets +a again). */
export function renameActive(auditDir: string, segment: number, appendOnly: boolean): Renamed {
  const name = rotatedName(segment);
  const active = join(auditDir, ACTIVE_LOG_NAME);
  const target = join(auditDir, name);
  clearAppendOnly(active); // needed for rename(2); fails harmlessly where it was never set
  try {
    renameSync(active, target);
  } catch (e) {
    return { ok: false, reason: `cannot rename ${ACTIVE_LOG_NAME} to ${name}: ${describeErrno(e)}` };
  }
  if (appendOnly) setAppendOnly(target);
  syncDir(auditDir);
  return { ok: true, name };
}
