/**
 * What every part of the evidence log's writer shares (writer.ts is the whole): its options,
 * the directory lock, the active file, the Merkle tree of every line written, where the log
 * stands (segment, lines since the last checkpoint), its counters, and the two rules each part
 * follows: every write, sync or rotation goes through `written` (its outcome is
 * status().writable), and onCheckpoint hears of a checkpoint only once its line is durable.
 *
 * The writer is one object built in layers, each a file of its own concept, each adding to the
 * one below it: this state, segments and rotation (segments.ts), checkpoints
 * (checkpoints.ts), group commit (group-commit.ts), and the append path with the public API
 * (writer.ts). A lower layer calls a few hooks the layers above define (checkpoints.ts: hold, commitHeld,
 * coveredSynced; segments.ts: writeLines), declared abstract where they are called.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import type { PrevSegment } from "../evidence/index.ts";
import { CompactFrontier } from "../tree/index.ts";
import { AnnounceQueue } from "./commit.ts";
import { Counters } from "./counters.ts";
import { describeErrno } from "./errno.ts";
import type { AppendFile } from "./file.ts";
import { DirLock } from "./lock.ts";
import { resolveOptions, type EvidenceLogOptions, type ResolvedOptions } from "./options.ts";
import { ACTIVE_LOG_NAME } from "./paths.ts";
import type { CheckpointSigning } from "./signing.ts";
import type { CheckpointResult, EvidenceLogStatus } from "./types.ts";

export abstract class LogCore {
  protected readonly o: ResolvedOptions;
  protected readonly activePath: string;
  protected signing!: CheckpointSigning;
  protected readonly counts = new Counters();
  protected readonly lock: DirLock;
  protected file: AppendFile | undefined;
  protected stopTimer: (() => void) | undefined;
  /** The tree of every line written: its frontier and size (the next seq). */
  protected tree = new CompactFrontier();
  protected logId = "";
  protected origin = "";
  protected segment = 1;
  protected prev: PrevSegment | null = null;
  protected segmentLines = 0;
  protected sinceCheckpoint = 0;
  protected writable: EvidenceLogStatus["writable"] = { ok: true };
  protected closed = false;
  /** Checkpoints written, told to onCheckpoint once durable. */
  protected readonly announced = new AnnounceQueue((c) => this.announce(c));

  protected constructor(options: EvidenceLogOptions) {
    this.o = resolveOptions(options);
    this.activePath = join(this.o.auditDir, ACTIVE_LOG_NAME);
    try {
      mkdirSync(this.o.auditDir, { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new AtoError(`cannot create the audit directory ${this.o.auditDir}: ${describeErrno(e)}`, "IO", { cause: e });
    }
    this.lock = DirLock.acquire(this.o.auditDir);
  }

  /** Lines in the log: the next seq. */
  protected get size(): number {
    return this.tree.size;
  }

  /** Runs a write, sync or rotation; its outcome is status().writable, and a failure is counted. */
  protected written<T>(write: () => T): T {
    try {
      const r = write();
      this.writable = { ok: true };
      return r;
    } catch (e) {
      if (e instanceof AtoError && e.code === "IO") {
        this.writable = { ok: false, error: e.message };
        this.counts.writeFailed();
      }
      throw e;
    }
  }

  /** Syncs everything written and tells onCheckpoint of every checkpoint that is now durable. */
  protected syncAndAnnounce(file: AppendFile): void {
    file.sync();
    this.announced.upTo(file.durable);
  }

  /** Tells onCheckpoint; what a listener throws is its own bug, reported, never the log's. */
  private announce(result: CheckpointResult): void {
    if (!this.o.onCheckpoint) return;
    try {
      this.o.onCheckpoint(result);
    } catch (e) {
      this.o.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
