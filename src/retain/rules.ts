/**
 * Retention rules by classification label: `internal=30d,restricted=365d`. A duration is a whole
 * number with a unit (s, m, h, d). A class with no rule is kept forever: nothing is deleted that
 * nobody decided to delete.
 */
import { AtoError } from "../errors.ts";

export interface Rule {
  class: string;
  ms: number;
  /** As written: "internal=30d". */
  text: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ENTRY = /^([a-z][a-z0-9_-]{0,31})=(\d{1,9})([smhd])$/;

export type Rules = ReadonlyMap<string, Rule>;

export function parseRules(entries: readonly string[]): Rules {
  const rules = new Map<string, Rule>();
  for (const raw of entries.flatMap((e) => e.split(/[\s,]+/)).filter(Boolean)) {
    const m = ENTRY.exec(raw);
    if (!m) throw new AtoError(`retention rule '${raw.slice(0, 80)}' is not CLASS=DURATION (e.g. internal=30d; units s, m, h, d)`, "CONFIG");
    if (rules.has(m[1]!)) throw new AtoError(`retention rule for class '${m[1]}' is given twice`, "CONFIG");
    rules.set(m[1]!, { class: m[1]!, ms: Number(m[2]) * UNIT_MS[m[3]!]!, text: raw });
  }
  return rules;
}
