/**
 * The writer's checkpoints: the tree of every line so far signed (a signing failure is
 * recorded in the line, not thrown), the line written only once the lines it covers are
 * durable (their fdatasync starts on the thread pool before the signature, so the two
 * overlap, and the line waits for what is left of it), onCheckpoint told once the line itself
 * is durable (a background sync for count and interval checkpoints, at once for the others),
 * and the segment rotated after it when due. Group commit (group-commit.ts) may hold a count
 * checkpoint's line instead of waiting: the hooks below.
 */
import { AtoError } from "../errors.ts";
import { checkpointBody, rfc3339, type CheckpointTrigger } from "../evidence/index.ts";
import { checkpointData, checkpointDataText } from "./checkpoint-line.ts";
import type { HeldCheckpoint } from "./commit.ts";
import { encodeLine } from "./encode.ts";
import type { AppendFile } from "./file.ts";
import { LogSegments } from "./segments.ts";
import type { CheckpointResult, LatestCheckpoint } from "./types.ts";

const encoder = new TextEncoder();

export abstract class LogCheckpoints extends LogSegments {
  protected latest: LatestCheckpoint | undefined;
  protected lastCheckpointOk = false;
  private signWarned: string | undefined;

  /** Writes a held checkpoint line now, if one waits (it comes before anything written after it). */
  protected abstract commitHeld(): void;
  /** Whether the signed checkpoint is held (its line written later) instead of written now. */
  protected abstract hold(c: HeldCheckpoint): boolean;
  /** The sync of the lines the checkpoint covers returned (on the event loop). */
  protected abstract coveredSynced(c: HeldCheckpoint): void;

  /**
   * Signs the current tree and appends the checkpoint line; a signing failure is recorded in
   * the line, not thrown. Throws AtoError("IO") when the line cannot be written or synced, or
   * the rotation after it cannot start the next segment (the next write retries that).
   */
  checkpoint(trigger: CheckpointTrigger = "manual"): CheckpointResult {
    return this.written(() => this.writeCheckpoint(trigger));
  }

  /** The newest checkpoint with a good signature (what the agent serves at /checkpoint). */
  latestCheckpoint(): LatestCheckpoint | undefined {
    return this.latest;
  }

  private writeCheckpoint(trigger: CheckpointTrigger): CheckpointResult {
    // The final checkpoint is the last: the interval timer must not add one after it while the agent
    // waits for witnesses and exporters before closing.
    if (trigger === "shutdown") this.stopTimer?.();
    this.commitHeld(); // a held one first: it comes before this one
    const file = this.file ?? this.reopenAfterFailedRotation();
    const c = this.signCheckpoint(trigger, file);
    if (this.hold(c)) return c.result; // written when the sync signCheckpoint started returns, unless the next records take it along first
    file.sync(); // what is left of the sync signCheckpoint started: the lines it covers are durable first
    this.writeCheckpointLine(c, file);
    this.afterCheckpoint(c, file);
    return c.result;
  }

  /**
   * Starts the sync of the lines before it, then signs the tree of those lines while that runs and
   * encodes the checkpoint line (seq = tree size), not yet written.
   */
  private signCheckpoint(trigger: CheckpointTrigger, file: AppendFile): HeldCheckpoint {
    let c: HeldCheckpoint | undefined; // set below, before the callback can run (it runs from the event loop)
    file.syncSoon(() => { if (c) this.coveredSynced(c); });
    const root = this.tree.root();
    const text = checkpointBody({ origin: this.origin, size: this.size, root });
    const signed = this.signing.sign(encoder.encode(text));
    const data = checkpointData({ text, signed, origin: this.origin, frontier: this.tree.hashesBase64(), root, segment: this.segment, prev: this.prev, treeSize: this.size, trigger });
    // A buffer of its own (not the encoder's, which the next records reuse, maybe before this line is written).
    const { line, leaf } = encodeLine("checkpoint", checkpointDataText(data), this.o.classification, this.size, rfc3339(this.o.now()));
    const result: CheckpointResult = { seq: this.size, treeSize: data.tree_size, root: data.root, status: data.signature_status, error: signed.ok ? undefined : signed.reason, note: data.note, trigger };
    c = { line, leaf, data, signed, result, sinceBefore: this.sinceCheckpoint };
    return c;
  }

  /** Appends the checkpoint line (and `more`, the records after it, in the same write) and takes it into the tree and the counters. */
  protected writeCheckpointLine(c: HeldCheckpoint, file: AppendFile, more?: Uint8Array): void {
    file.append(c.line, more);
    this.tree.append(c.leaf);
    this.counts.checkpoint(c.signed.ok, c.signed.seconds);
    this.counts.appended("checkpoint", 1, c.line.length);
    this.segmentLines++;
    this.sinceCheckpoint = 0;
    this.lastCheckpointOk = c.signed.ok;
    const { signed, result } = c;
    if (signed.ok) this.latest = { seq: result.seq, treeSize: result.treeSize, root: result.root, note: result.note };
    if (!signed.ok && signed.reason !== this.signWarned) this.o.onWarning(`checkpoints are unsigned from seq ${result.seq} on: ${signed.reason}`);
    if (signed.ok && this.signWarned) this.o.onWarning(`checkpoints are signed again from seq ${result.seq} on`);
    this.signWarned = signed.ok ? undefined : signed.reason;
  }

  /** Makes the written checkpoint durable (at once unless count or interval), tells onCheckpoint then, and rotates if due. */
  protected afterCheckpoint(c: HeldCheckpoint, file: AppendFile, mayRotate = true): void {
    const trigger = c.result.trigger;
    this.announced.push(c.result, file.size);
    if (trigger === "count" || trigger === "interval") {
      file.syncSoon((e) => {
        if (e) this.o.onError(e); // not told yet: the next sync (at the latest the next checkpoint's) tries again, and throws
        this.announced.upTo(file.durable);
      });
    }
    else this.syncAndAnnounce(file);
    if (mayRotate && trigger !== "shutdown" && this.shouldRotate()) this.rotate();
  }

  /**
   * A checkpoint nobody called for (count or timer): when it cannot be written, the records
   * before it stay written and the failure goes to onError; any other error is a bug and is thrown.
   */
  protected autoCheckpoint(trigger: "count" | "interval"): void {
    try {
      this.checkpoint(trigger);
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.o.onError(e);
    }
  }
}
