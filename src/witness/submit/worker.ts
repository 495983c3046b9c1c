/**
 * One witness's submissions: always the newest signed checkpoint (older ones a slow witness
 * missed are skipped: cosigning the newest vouches for every line before it), one request at
 * a time, with a consistency proof from the size this witness last cosigned. A 409 resets that
 * size to the witness's and retries at once; no answer or a 5xx retries with backoff (1 s
 * doubling to 60 s); any other refusal is written to the evidence log as `witness_refusal`
 * (once per reason in a row) and waits for the next checkpoint.
 */
import { AtoError } from "../../errors.ts";
import { parseCheckpointBody, parseSignedNote, type CosignatureData, type WitnessRefusalData } from "../../evidence/index.ts";
import { cosignatureLine, matchesKey, verifyCosignature } from "../cosignature.ts";
import { formatAddCheckpoint } from "../request.ts";
import { consistencyProof } from "../proof.ts";
import { conflictSize, postCheckpoint, type WitnessReply } from "./client.ts";
import type { LeafSource } from "./leaves.ts";
import type { SubmitterMetrics } from "./metrics.ts";
import type { WitnessProgress } from "./progress.ts";
import type { WitnessTarget } from "./targets.ts";
import { traced, type Tracer } from "../../trace/index.ts";

export interface SignedCheckpoint {
  seq: number;
  treeSize: number;
  root: string;
  note: string;
  /** performance.now() when it was written. */
  at: number;
}

export interface WorkerContext {
  leaves: LeafSource;
  progress: WitnessProgress;
  metrics: SubmitterMetrics;
  append: (kind: "cosignature" | "witness_refusal", data: CosignatureData | WitnessRefusalData) => void;
  warn: (m: string) => void;
  /** A span per submission (src/trace) when tracing is on. */
  tracer?: Tracer;
}

const MAX_BACKOFF_MS = 60_000;

export class WitnessWorker {
  private latest: SignedCheckpoint | undefined;
  private handledSeq = -1;
  private running: Promise<void> | undefined;
  private backoffMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRefusal: string | undefined;
  private stopped = false;
  lastCosignedAt: number | undefined;

  constructor(readonly target: WitnessTarget, private readonly ctx: WorkerContext) {}

  get name(): string {
    return this.target.key.name;
  }

  /** True when the newest checkpoint has had its answer (a cosignature or a refusal). */
  get idle(): boolean {
    return !this.running && (this.latest === undefined || this.handledSeq >= this.latest.seq);
  }

  offer(cp: SignedCheckpoint): void {
    this.latest = cp;
    if (this.backoffMs === 0) this.kick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    // A bug here must not stop the agent's evidence: it is said loudly, counted, and retried later.
    this.running = this.loop().catch((e: unknown) => {
      this.ctx.metrics.failures.inc({ witness: this.name, reason: "internal" });
      this.ctx.warn(`witness ${this.name}: internal error in the submitter: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.retryLater();
    }).finally(() => { this.running = undefined; });
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.latest && this.handledSeq < this.latest.seq) {
      const cp = this.latest;
      const outcome = await traced(this.ctx.tracer, "ato.witness.submit", { witness: this.name, tree_size: cp.treeSize, from_size: this.ctx.progress.get(this.target.vkey).size },
        () => this.submit(cp), (o) => ({ outcome: o === "retry" ? "retry" : this.lastRefusal === undefined ? "cosigned" : `refused: ${this.lastRefusal}` }));
      if (outcome === "retry") return this.retryLater();
      this.backoffMs = 0;
      this.handledSeq = cp.seq;
    }
  }

  private retryLater(): void {
    this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, this.backoffMs * 2));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), this.backoffMs);
    this.timer.unref?.();
  }

  private async submit(cp: SignedCheckpoint): Promise<"done" | "retry"> {
    const { text } = parseSignedNote(cp.note);
    for (let conflicts = 0; conflicts < 3; conflicts++) {
      const from = this.ctx.progress.get(this.target.vkey).size;
      if (from > cp.treeSize) return this.refuse(cp, null, "witness_ahead", `the witness cosigned a tree of ${from} lines; this log has ${cp.treeSize}: the log was cut or forked after that cosignature`);
      let body: string;
      try {
        const { frontier, leaves } = this.ctx.leaves.slice(from, cp.treeSize);
        body = formatAddCheckpoint({ oldSize: from, proof: consistencyProof(from, cp.treeSize, frontier, leaves), note: cp.note });
      } catch (e) {
        if (!(e instanceof AtoError) || (e.code !== "NOT_FOUND" && e.code !== "CORRUPT" && e.code !== "IO")) throw e;
        return this.refuse(cp, null, "no_proof", e.message);
      }
      let reply: WitnessReply;
      try {
        reply = await postCheckpoint(this.target.url, body);
      } catch (e) {
        if (!(e instanceof AtoError && e.code === "IO")) throw e;
        this.fail("unreachable", e.message);
        return "retry";
      }
      if (reply.status === 200) return this.accept(cp, text, reply);
      if (reply.status === 409) {
        const size = conflictSize(reply);
        if (size === undefined) return this.refuse(cp, 409, "root_conflict", `the witness holds another tree of ${cp.treeSize} lines: ${reply.body.trim().slice(0, 200)}`);
        this.ctx.metrics.failures.inc({ witness: this.name, reason: "conflict" });
        this.ctx.progress.set(this.target.vkey, { size, root: null });
        continue;
      }
      if (reply.status >= 500 || reply.status === 408 || reply.status === 429) {
        this.fail(`http_${reply.status}`, reply.body.trim().slice(0, 200));
        return "retry";
      }
      return this.refuse(cp, reply.status, REASONS[reply.status] ?? `http_${reply.status}`, reply.body.trim().slice(0, 300));
    }
    this.fail("conflict", "the witness answered 409 three times in a row");
    return "retry";
  }

  private accept(cp: SignedCheckpoint, text: string, reply: WitnessReply): "done" {
    const lines = reply.body.split("\n").filter(Boolean);
    let sigs;
    try {
      sigs = parseSignedNote(`${text}\n${lines.join("\n")}\n`).signatures;
    } catch (e) {
      return this.refuse(cp, null, "bad_answer", `the witness's answer is not signature lines: ${(e as Error).message}`);
    }
    const mine = sigs.filter((s) => matchesKey(this.target.key, s));
    const checked = mine.map((s) => ({ s, r: verifyCosignature(this.target.key, text, s) }));
    const good = checked.find((c) => c.r.ok);
    if (!good || !good.r.ok) return this.refuse(cp, null, "bad_cosignature", mine.length ? (checked[0]!.r as { reason: string }).reason : `no signature line of ${this.name} with key ID ${Buffer.from(this.target.key.keyId).toString("hex")} in the answer`);
    const line = cosignatureLine(good.s).slice(0, -1); // the witness's line as it sent it (base64 is canonical)
    const body = parseCheckpointBody(text);
    this.ctx.append("cosignature", {
      checkpoint_seq: cp.seq, origin: body.origin, tree_size: cp.treeSize, root: cp.root, witness: this.name,
      key_id: Buffer.from(this.target.key.keyId).toString("hex"), timestamp: good.r.timestamp, signature: line, url: this.target.url,
    });
    this.ctx.progress.set(this.target.vkey, { size: cp.treeSize, root: cp.root });
    this.lastCosignedAt = Date.now();
    this.lastRefusal = undefined;
    this.ctx.metrics.cosignedSize.set({ witness: this.name }, cp.treeSize);
    this.ctx.metrics.cosignatures.inc({ witness: this.name });
    this.ctx.metrics.latency.set({ witness: this.name }, (performance.now() - cp.at) / 1000);
    return "done";
  }

  private refuse(cp: SignedCheckpoint, status: number | null, reason: string, message: string): "done" {
    this.ctx.metrics.failures.inc({ witness: this.name, reason });
    if (this.lastRefusal === reason) return "done";
    this.lastRefusal = reason;
    this.ctx.warn(`witness ${this.name} refused the checkpoint of tree size ${cp.treeSize} (${reason}): ${message}`);
    let origin = "";
    try {
      origin = parseCheckpointBody(parseSignedNote(cp.note).text).origin;
    } catch {
      // the note is the writer's own; it parses
    }
    const witnessSize = status === 409 || reason === "witness_ahead" ? this.ctx.progress.get(this.target.vkey).size : undefined;
    this.ctx.append("witness_refusal", {
      checkpoint_seq: cp.seq, origin, tree_size: cp.treeSize, root: cp.root, witness: this.name, url: this.target.url,
      status, reason, message: message.slice(0, 300), ...(witnessSize !== undefined ? { witness_size: witnessSize } : {}),
    });
    return "done";
  }

  private fail(reason: string, message: string): void {
    this.ctx.metrics.failures.inc({ witness: this.name, reason });
    if (this.backoffMs === 0) this.ctx.warn(`witness ${this.name}: ${message}; retrying with backoff`);
  }
}

const REASONS: Record<number, string> = { 400: "malformed", 403: "bad_signature", 404: "unknown_log", 413: "too_large", 422: "bad_proof" };
