/**
 * File names in the audit directory. The active segment is always signed_evidence.log
 * (what `tail -f` and the forwarders follow); a full segment is renamed to
 * signed_evidence.<NNNNNN>.log, its segment number in six digits.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";

export const ACTIVE_LOG_NAME = "signed_evidence.log";
const ROTATED = /^signed_evidence\.(\d{6,})\.log$/;

export function rotatedName(segment: number): string {
  return `signed_evidence.${String(segment).padStart(6, "0")}.log`;
}

/** The segment number a rotated file's name says, or undefined for any other name. */
export function segmentOfName(name: string): number | undefined {
  const m = ROTATED.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface LogFiles {
  /** Rotated segments, by the number in their names. */
  rotated: { segment: number; path: string }[];
  /** The active segment, when it exists. */
  active: string | undefined;
}

export function listLogFiles(dir: string): LogFiles {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new AtoError(`cannot read the audit directory ${dir}: ${(e as Error).message}`, "IO", { cause: e });
  }
  const rotated = names
    .map((name) => ({ segment: segmentOfName(name), path: join(dir, name) }))
    .filter((f): f is { segment: number; path: string } => f.segment !== undefined)
    .sort((a, b) => a.segment - b.segment);
  return { rotated, active: names.includes(ACTIVE_LOG_NAME) ? join(dir, ACTIVE_LOG_NAME) : undefined };
}
