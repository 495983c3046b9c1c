/**
 * One retention pass over an audit directory: read what is needed (rotated segments once each,
 * the active segment every pass for the retire records and cosignatures it holds), plan, and,
 * given the log to write to, retire. Passes never overlap.
 */
import { AtoError } from "../errors.ts";
import { applyPlan, type RetireLog, type Retired } from "./apply.ts";
import { plan, rotatedPaths, type Plan, type RetainPolicy } from "./plan.ts";
import { fileKey, scanSegmentFile, type SegmentSummary } from "./scan.ts";

export interface PassResult {
  plan: Plan;
  retired: Retired[];
}

export class Retainer {
  private readonly cache = new Map<string, SegmentSummary>();
  private busy: Promise<PassResult> | undefined;

  constructor(readonly auditDir: string, readonly policy: RetainPolicy) {}

  /** What would be retired now, and why not the others. */
  async plan(now = new Date()): Promise<Plan> {
    return plan(await this.summaries(), this.policy, now);
  }

  /**
   * A pass; with `log`, it retires what the plan allows (unless `o.proceed` says no once the plan is
   * made: the agent stopping). A pass already under way is joined, not repeated.
   */
  pass(log: RetireLog | undefined, now = new Date(), o: { beforeDelete?: () => void; proceed?: () => boolean } = {}): Promise<PassResult> {
    this.busy ??= (async () => {
      const p = await this.plan(now);
      const retired = log && (o.proceed?.() ?? true) ? applyPlan(log, p.decisions, o) : [];
      for (const r of retired) this.cache.delete(r.file);
      return { plan: p, retired };
    })().finally(() => { this.busy = undefined; });
    return this.busy;
  }

  private async summaries(): Promise<SegmentSummary[]> {
    const { rotated, active } = rotatedPaths(this.auditDir);
    const out: SegmentSummary[] = [];
    const present = new Set<string>();
    for (const path of rotated) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      present.add(name);
      const key = await keyOrUndefined(path);
      if (key === undefined) continue; // deleted meanwhile
      const cached = this.cache.get(name);
      if (cached && cached.key === key) out.push(cached);
      else {
        const s = await scanSegmentFile(path);
        this.cache.set(name, s);
        out.push(s);
      }
    }
    for (const name of this.cache.keys()) if (!present.has(name)) this.cache.delete(name);
    if (active && (await keyOrUndefined(active)) !== undefined) out.push(await scanSegmentFile(active));
    return out;
  }
}

async function keyOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await fileKey(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AtoError(`retention: cannot read ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
}
