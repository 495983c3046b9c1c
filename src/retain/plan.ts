/**
 * Which rotated segments may be retired now, and why the others may not. A segment goes only
 * when every class in it is past its retention (the longest retention of its classes governs;
 * a class without a rule keeps the segment forever), and what is required holds: the sinks'
 * acknowledgements and a witness's cosignature past its last line. The active segment is never
 * considered. A segment a signed retire record already names (a crash between the record and
 * the deletion) is only deleted, after its SHA-256 is checked against the record.
 */
import { MAX_CARRIED_RUNS } from "../evidence/index.ts";
import { listLogFiles } from "../log/paths.ts";
import { carriedRuns } from "./carried.ts";
import type { VerifierKey } from "../witness/index.ts";
import { bestCosignature, sinkAcks, type Cosigned, type SinkAck, type SinkRef } from "./conditions.ts";
import type { Rule, Rules } from "./rules.ts";
import type { SegmentSummary } from "./scan.ts";

export interface RetainPolicy {
  rules: Rules;
  /** Sinks whose acknowledgement is required (empty: not required). */
  sinks: readonly SinkRef[];
  requireSinks: boolean;
  /** Witness keys one of which must have cosigned past the segment. */
  witnesses: readonly VerifierKey[];
  requireWitness: boolean;
}

export type Decision =
  | { action: "retire"; summary: SegmentSummary; rule: Rule; newest: string; expired: Date; sinks: SinkAck[] | null; witness: Cosigned | null }
  | { action: "delete"; summary: SegmentSummary; recordSeq: number; why: string }
  | { action: "keep"; summary: SegmentSummary; reasons: string[] };

export interface Plan {
  decisions: Decision[];
  /** Problems that stop retention as a whole (a retire record whose file was changed). */
  problems: string[];
}

/** `summaries`: every rotated segment present, in order, then the active one (for the lines after them). */
export function plan(summaries: SegmentSummary[], policy: RetainPolicy, now: Date): Plan {
  const rotated = summaries.filter((s) => s.file !== "signed_evidence.log");
  const all = summaries;
  const logId = all.at(-1)?.logId ?? "";
  const origin = all.at(-1)?.origin ?? "";
  const signedTo = Math.max(0, ...all.map((s) => s.signedTo));
  const recorded = new Map(all.flatMap((s) => s.retires.map((r) => [r.data.segment, r] as const)));
  const acks = policy.requireSinks && policy.sinks.length ? sinkAcks(policy.sinks, logId) : null;
  const best = policy.requireWitness && policy.witnesses.length ? bestCosignature(all.flatMap((s) => s.cosignatures), policy.witnesses, origin) : undefined;
  const problems: string[] = [];
  const decisions = rotated.map((s): Decision => {
    const r = recorded.get(s.segment);
    if (r) {
      if (r.data.sha256 !== s.sha256 || r.data.bytes !== s.bytes) {
        problems.push(`${s.file} is named by the retire record at seq ${r.seq}, but its size or SHA-256 is not what the record says: kept, for a person to look at`);
        return { action: "keep", summary: s, reasons: ["its contents differ from its retire record"] };
      }
      if (r.seq >= signedTo) return { action: "keep", summary: s, reasons: [`its retire record (seq ${r.seq}) is not covered by a signed checkpoint yet`] };
      return { action: "delete", summary: s, recordSeq: r.seq, why: `retired by the record at seq ${r.seq}; the deletion had not happened` };
    }
    const reasons: string[] = [];
    const present = new Set(rotated.map((x) => x.segment));
    const held = s.retires.filter((x) => present.has(x.data.segment)).map((x) => x.data.segment);
    if (held.length) reasons.push(`it holds the retire record of segment ${held.join(", ")}, which is still present (its deletion comes first)`);
    if (carriedRuns(s).length > MAX_CARRIED_RUNS) reasons.push(`the retire records in it would carry more than ${MAX_CARRIED_RUNS} separate runs of retired segments`);
    if (s.problems) reasons.push(`${s.problems} line(s) are not whole records (ato verify names them)`);
    let governing: { rule: Rule; newest: string; expired: Date } | undefined;
    for (const [cls, newest] of s.classes) {
      const rule = policy.rules.get(cls);
      if (!rule) {
        reasons.push(`class ${cls} has no retention rule (kept forever)`);
        continue;
      }
      const expired = new Date(Date.parse(newest) + rule.ms);
      if (!governing || expired > governing.expired) governing = { rule, newest, expired };
    }
    if (governing && governing.expired > now) reasons.push(`class ${governing.rule.class} is kept until ${governing.expired.toISOString()} (${governing.rule.text}, newest record ${governing.newest})`);
    if (policy.requireSinks && policy.sinks.length === 0) reasons.push("forwarding acknowledgement is required but no sink is configured");
    for (const a of acks ?? []) {
      if (a.problem) reasons.push(`sink ${a.name} ${a.problem}`);
      else if (a.seq! <= s.lastSeq) reasons.push(`sink ${a.name} has acknowledged up to seq ${a.seq! - 1}, not past seq ${s.lastSeq}`);
    }
    if (policy.requireWitness && policy.witnesses.length === 0) reasons.push("a witness cosignature is required but no witness is configured");
    else if (policy.requireWitness && !(best && best.tree_size > s.lastSeq)) {
      reasons.push(`no witness has cosigned a checkpoint of tree size ${s.lastSeq + 1} or more (${best ? `the largest cosigned is ${best.tree_size}` : "no cosignature in the log"})`);
    }
    if (reasons.length || !governing) return { action: "keep", summary: s, reasons };
    return { action: "retire", summary: s, ...governing, sinks: acks, witness: policy.requireWitness ? best! : null };
  });
  return { decisions, problems };
}

export function rotatedPaths(auditDir: string): { rotated: string[]; active: string | undefined } {
  const f = listLogFiles(auditDir);
  return { rotated: f.rotated.map((r) => r.path), active: f.active };
}
