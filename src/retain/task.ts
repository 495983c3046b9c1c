/**
 * Retention inside `ato run`: a pass after each rotation and at a slow cadence (hourly by
 * default). Reading segments is awaited chunk by chunk, so collection and checkpoint signing go
 * on meanwhile; only the retire records and their checkpoint are written on the agent's loop,
 * as any record is. A pass that fails is reported and tried again at the next occasion: it never
 * stops the agent.
 */
import { AtoError } from "../errors.ts";
import type { RetireLog } from "./apply.ts";
import type { Retainer } from "./retainer.ts";

const FIRST_PASS_MS = 5000;

export interface RetentionTaskOptions {
  retainer: Retainer;
  log: RetireLog & { status(): { segment: number } };
  everyMs: number;
  say: (message: string, fields?: Record<string, unknown>) => void;
}

export class RetentionTask {
  private timer: ReturnType<typeof setInterval>;
  private first: ReturnType<typeof setTimeout>;
  private segment: number;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: RetentionTaskOptions) {
    this.segment = o.log.status().segment;
    this.timer = setInterval(() => this.kick(), o.everyMs);
    this.timer.unref?.();
    // The first pass soon after start (it also finishes a deletion a crash interrupted), not during it.
    this.first = setTimeout(() => this.kick(), FIRST_PASS_MS);
    this.first.unref?.();
  }

  /** Call after each checkpoint: a new segment number means a rotation, and a pass. */
  afterCheckpoint(): void {
    const seg = this.o.log.status().segment;
    if (seg === this.segment) return;
    this.segment = seg;
    this.kick();
  }

  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.o.retainer.pass(this.o.log, new Date(), { proceed: () => !this.stopped }).then((r) => {
      for (const x of r.retired) this.o.say(`retention: retired ${x.file}`, { segment: x.segment, record_seq: x.recordSeq, rule: x.rule });
      for (const p of r.plan.problems) this.o.say(`retention: ${p}`);
    }, (e) => {
      if (!(e instanceof AtoError)) throw e;
      this.o.say(`retention pass failed: ${e.message}`);
    }).finally(() => { this.running = undefined; });
  }

  /** Stops the timer and waits for a pass under way (before the log closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.first);
    await this.running;
  }
}
