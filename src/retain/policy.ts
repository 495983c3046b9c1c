/**
 * The retention policy from settings. Acknowledgement by the sinks is required by default when
 * forwarding is configured, a witness cosignature when witnesses are: a cautious default, which
 * `--retention-require-forward false` / `--retention-require-witness false` relax. Requiring one
 * with nothing configured retires nothing (and says so).
 */
import { AtoError } from "../errors.ts";
import { readForwardConfig } from "../forward/config.ts";
import { parseWitnessTarget } from "../witness/submit/index.ts";
import type { RetainPolicy } from "./plan.ts";
import { parseRules } from "./rules.ts";

export interface RetentionSettings {
  rules: readonly string[];
  requireForward?: boolean;
  requireWitness?: boolean;
  forwardConfig?: string;
  /** Sinks of the forward config this agent forwards to; none named: all of the config's. */
  forwardSinks: readonly string[];
  witnesses: readonly string[];
}

export function policyFrom(s: RetentionSettings): RetainPolicy {
  const rules = parseRules(s.rules);
  const cfg = s.forwardConfig ? readForwardConfig(s.forwardConfig) : undefined;
  const known = new Set(cfg?.sinks.map((x) => x.name) ?? []);
  for (const n of s.forwardSinks) if (!known.has(n)) throw new AtoError(`retention: sink '${n}' is not in the forward config${s.forwardConfig ? ` ${s.forwardConfig}` : " (none given: --forward-config)"}`, "CONFIG");
  const names = s.forwardSinks.length ? s.forwardSinks : [...known];
  const sinks = cfg ? names.map((name) => ({ name, stateDir: cfg.stateDir })) : [];
  const witnesses = s.witnesses.map((w) => parseWitnessTarget(w).key);
  return { rules, sinks, requireSinks: s.requireForward ?? sinks.length > 0, witnesses, requireWitness: s.requireWitness ?? witnesses.length > 0 };
}
