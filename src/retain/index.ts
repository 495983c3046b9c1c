/** Retention by classification: rotated segments retired by rule, each deletion recorded first as evidence. */
export { parseRules, type Rule, type Rules } from "./rules.ts";
export { scanSegmentFile, type SegmentSummary } from "./scan.ts";
export { plan, type Decision, type Plan, type RetainPolicy } from "./plan.ts";
export { applyPlan, retireData, type RetireLog, type Retired } from "./apply.ts";
export { Retainer, type PassResult } from "./retainer.ts";
export { RetentionTask } from "./task.ts";
export { policyFrom, type RetentionSettings } from "./policy.ts";
