/**
 * The agent's side of c2sp.org/tlog-witness: every signed checkpoint goes to every configured
 * witness, asynchronously (the writer only hands it over; nothing waits for a witness), and
 * what comes back is appended to the evidence log. `drain` lets a stopping agent wait a bounded
 * time for the last answers, so its final checkpoint can cover them.
 */
import type { CheckpointResult } from "../../log/index.ts";
import { LeafSource } from "./leaves.ts";
import { submitterMetrics } from "./metrics.ts";
import { WitnessProgress } from "./progress.ts";
import type { WitnessTarget } from "./targets.ts";
import { WitnessWorker, type WorkerContext } from "./worker.ts";
import type { Registry } from "prom-client";
import type { Tracer } from "../../trace/index.ts";

export interface SubmitterOptions {
  auditDir: string;
  witnesses: WitnessTarget[];
  registry: Registry;
  append: WorkerContext["append"];
  warn: (m: string) => void;
  tracer?: Tracer;
}

export class Submitter {
  private readonly workers: WitnessWorker[];
  private readonly leaves: LeafSource;
  private readonly progress: WitnessProgress;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(o: SubmitterOptions) {
    this.progress = new WitnessProgress(o.auditDir, o.warn);
    this.leaves = new LeafSource(o.auditDir, this.smallestCosigned(o.witnesses));
    const metrics = submitterMetrics(o.registry, () => new Map(this.workers.map((w) => [w.name, (Date.now() - (w.lastCosignedAt ?? this.startedAt)) / 1000])));
    const ctx: WorkerContext = {
      leaves: this.leaves, progress: this.progress, metrics, warn: o.warn, tracer: o.tracer,
      append: (kind, data) => {
        if (this.stopped) return;
        o.append(kind, data);
        this.leaves.trim(this.smallestCosigned(o.witnesses));
      },
    };
    this.workers = o.witnesses.map((t) => new WitnessWorker(t, ctx));
    for (const w of this.workers) metrics.cosignedSize.set({ witness: w.name }, this.progress.get(w.target.vkey).size);
  }

  /** The smallest size a witness cosigned, leaving out those at 0 (their proofs are empty); Infinity when none. */
  private smallestCosigned(witnesses: WitnessTarget[]): number {
    return Math.min(...witnesses.map((w) => this.progress.get(w.vkey).size).filter((s) => s > 0));
  }

  /** The writer's onCheckpoint: hands a signed checkpoint to every witness and returns at once. */
  onCheckpoint(cp: CheckpointResult): void {
    if (this.stopped || cp.status !== "ok") return;
    const signed = { seq: cp.seq, treeSize: cp.treeSize, root: cp.root, note: cp.note, at: performance.now() };
    queueMicrotask(() => this.workers.forEach((w) => w.offer(signed)));
  }

  /** Witnesses that have not cosigned for longer than `limitSeconds` (since the agent started while none has). */
  silent(limitSeconds: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const w of this.workers) {
      const age = (Date.now() - (w.lastCosignedAt ?? this.startedAt)) / 1000;
      if (age > limitSeconds) out[`witness ${w.name}`] = `no cosignature for ${Math.round(age)} s (limit ${limitSeconds} s)`;
    }
    return out;
  }

  /** Waits until every witness has answered the newest checkpoint, or `ms` passed. */
  async drain(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    await Bun.sleep(0); // let the microtask hand the last checkpoint over
    while (!this.workers.every((w) => w.idle)) {
      if (Date.now() > until) return false;
      await Bun.sleep(20);
    }
    await this.progress.flush();
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.workers.forEach((w) => w.stop());
    this.leaves.close();
  }
}
