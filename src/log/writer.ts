/**
 * EvidenceLog: the append-only, signed evidence log of one host.
 *
 *   const log = EvidenceLog.open({ auditDir, signer, reopenSigner, onCheckpoint });
 *   log.appendRecord("flow", { src: "198.18.0.0/24", packets: 3 });  // → { seq, ts }
 *   log.counters().verified.flow;                                      // metrics
 *   log.close();                                                       // signs a last checkpoint
 *
 * Every line is a leaf of one Merkle tree (RFC 9162) over the whole log; a checkpoint line
 * at seq s signs the tree of the s lines before it. A checkpoint follows every
 * `checkpointEvery` lines exactly (a longer batch is written in pieces with the checkpoint
 * between), every `checkpointIntervalMs`, at start-up over what a previous run left unsigned,
 * and at close. All calls are synchronous: a record is on disk (in the page cache, fsync'd at
 * each checkpoint) when appendRecord returns.
 *
 * A checkpoint line is written only once the lines it covers are durable: their fdatasync is
 * started on the thread pool before the signature, so the two overlap, and the line waits for
 * what is left of it. onCheckpoint hears of a checkpoint once its own line is durable too (a
 * background sync for count and interval checkpoints, at once for the others). With
 * `groupCommit`, a count checkpoint does not wait at all: it is signed, and its line is
 * written when that sync returns or together with the next records (one write), whichever
 * comes first (see commit.ts).
 *
 * A record that was written stays written: when the checkpoint due after it cannot be written,
 * synced or rotated (a full disk), the append still succeeds, the failure goes to onError and
 * status().writable, and the checkpoint is tried again after the next piece of records.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { checkpointBody, rfc3339, type CheckpointTrigger, type PrevSegment, type RecordData, type RecordKind, type SegmentData } from "../evidence/index.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import { CompactFrontier, base64 } from "../tree/index.ts";
import { VERSION } from "../version.ts";
import { setAppendOnly } from "./attr.ts";
import { checkNames, checkpointData } from "./checkpoint-line.ts";
import { Counters, type EvidenceCounters } from "./counters.ts";
import { describeErrno } from "./errno.ts";
import { AppendFile, syncDir } from "./file.ts";
import { encodeChunk, encodeObjects, type BodyWriter, type Encoded } from "./encode.ts";
import { DirLock } from "./lock.ts";
import { resolveOptions, type EvidenceLogOptions, type ResolvedOptions } from "./options.ts";
import { ACTIVE_LOG_NAME } from "./paths.ts";
import { renameActive, rotationBlocked } from "./rotation.ts";
import { CheckpointSigning } from "./signing.ts";
import { AnnounceQueue, type HeldCheckpoint } from "./commit.ts";
import { segmentBytes } from "./size.ts";
import { recover } from "./startup.ts";
import type { CheckpointResult, EvidenceLogStatus, LatestCheckpoint } from "./types.ts";

export class EvidenceLog {
  private readonly o: ResolvedOptions;
  private readonly activePath: string;
  private signing!: CheckpointSigning;
  private readonly counts = new Counters();
  private readonly lock: DirLock;
  private file: AppendFile | undefined;
  private stopTimer: (() => void) | undefined;
  /** The tree of every line written: its frontier and size (the next seq). */
  private tree = new CompactFrontier();
  private logId = "";
  private origin = "";
  private segment = 1;
  private prev: PrevSegment | null = null;
  private segmentLines = 0;
  private sinceCheckpoint = 0;
  private latest: LatestCheckpoint | undefined;
  private appendOnly: EvidenceLogStatus["appendOnly"] = { set: false, reason: "not tried" };
  private rotation: EvidenceLogStatus["rotation"] = { enabled: true };
  /** The segment a rotation renamed but could not yet replace (disk full): the next write retries. */
  private pendingSegment: PrevSegment | undefined;
  private appendOnlyWarned: string | undefined;
  private signWarned: string | undefined;
  private lastCheckpointOk = false;
  private writable: EvidenceLogStatus["writable"] = { ok: true };
  private closed = false;
  /** groupCommit: the count checkpoint signed and waiting for the sync of the lines it covers. */
  private held: HeldCheckpoint | undefined;
  /** Checkpoints written, told to onCheckpoint once durable. */
  private readonly announced = new AnnounceQueue((c) => this.announce(c));

  private constructor(options: EvidenceLogOptions) {
    this.o = resolveOptions(options);
    this.activePath = join(this.o.auditDir, ACTIVE_LOG_NAME);
    try {
      mkdirSync(this.o.auditDir, { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new AtoError(`cannot create the audit directory ${this.o.auditDir}: ${describeErrno(e)}`, "IO", { cause: e });
    }
    this.lock = DirLock.acquire(this.o.auditDir);
  }

  /** Opens (or creates) the log in options.auditDir, repairing a torn last line first. */
  static open(options: EvidenceLogOptions = {}): EvidenceLog {
    const log = new EvidenceLog(options);
    try {
      log.start(options);
    } catch (e) {
      log.lock.release();
      log.file?.close();
      throw e;
    }
    return log;
  }

  private start(options: EvidenceLogOptions): void {
    const r = recover(this.o.auditDir);
    this.tree = new CompactFrontier(r.frontier, r.size);
    this.logId = r.logId;
    this.segment = r.segment;
    this.prev = r.prev;
    this.segmentLines = r.segmentLines;
    this.origin = r.origin ?? this.o.origin ?? `ato/${this.o.hostname}/${r.logId}`;
    if (r.origin && this.o.origin && r.origin !== this.o.origin) this.o.onWarning(`keeping the log's origin '${r.origin}' (option says '${this.o.origin}')`);
    const keyName = this.o.keyName ?? this.origin;
    checkNames(this.origin, keyName);
    this.signing = new CheckpointSigning(options.signer, keyName, options.reopenSigner, () => this.counts.hsmFailed());
    this.counts.recover(r.pending, r.uncheckpointed);
    if (r.lastGood) this.latest = { seq: r.lastGood.seq, treeSize: r.lastGood.treeSize, root: base64(r.lastGood.root), note: r.lastGood.note };
    for (const p of r.problems) this.o.onWarning(`${ACTIVE_LOG_NAME}: ${p}`);
    if (r.continuing) this.openActive();
    else this.startSegment(r.segment, r.prev);
    if (r.repair) this.appendRecord("repair", r.repair);
    // Sign at once what a previous run left unsigned (its last checkpoint line aside).
    if (r.continuing && Object.keys(r.pending).some((k) => k !== "checkpoint")) this.checkpoint("start");
    if (this.o.checkpointIntervalMs > 0) this.stopTimer = this.o.timer(() => this.autoCheckpoint("interval"), this.o.checkpointIntervalMs);
  }

  /** Appends one record; assigns its seq and ts. Throws AtoError("IO") if it could not be written whole. */
  appendRecord(kind: RecordKind, data: RecordData, opts: { class?: string } = {}): { seq: number; ts: string } {
    return this.appendRecords(kind, [data], opts)[0]!;
  }

  /**
   * Appends records of one kind, in order. Records up to the next count checkpoint go in one
   * write: all of them or, on error, none. A batch longer than roomBeforeCheckpoint() is
   * written in pieces with the checkpoint between them; if a later piece fails, the pieces
   * before it stay written and the AtoError("IO") says how many. A caller that must know
   * exactly what was written (the collector) gives at most roomBeforeCheckpoint() records.
   */
  appendRecords(kind: RecordKind, data: RecordData[], opts: { class?: string } = {}): { seq: number; ts: string }[] {
    if (kind === "checkpoint" || kind === "segment") throw new AtoError(`'${kind}' lines are written by the log itself`, "USAGE");
    const cls = opts.class ?? this.o.classification;
    const out: { seq: number; ts: string }[] = [];
    for (let at = 0; at < data.length; ) {
      const room = this.roomBeforeCheckpoint();
      const piece = at === 0 && data.length <= room ? data : data.slice(at, at + room);
      try {
        for (const r of this.written(() => this.writeLines(kind, piece, cls))) out.push(r);
      } catch (e) {
        if (out.length === 0 || !(e instanceof AtoError && e.code === "IO")) throw e;
        throw new AtoError(`${e.message}; the first ${out.length} of these ${data.length} ${kind} records (seq ${out[0]!.seq} to ${out.at(-1)!.seq}) were written before it`, "IO", { cause: e });
      }
      at += piece.length;
      if (this.sinceCheckpoint >= this.o.checkpointEvery) this.autoCheckpoint("count");
    }
    return out;
  }

  /**
   * Appends `n` records of one kind whose data `body` writes as canonical JSON bytes (the flow
   * records' path: the same lines appendRecords would write for the same data, without
   * building them as objects). At most roomBeforeCheckpoint() records: all written in one
   * write, or none (AtoError "IO"). Returns the first record's seq and the records' ts.
   */
  appendBodies(kind: RecordKind, n: number, body: BodyWriter, opts: { class?: string } = {}): { seq: number; ts: string } {
    if (kind === "checkpoint" || kind === "segment") throw new AtoError(`'${kind}' lines are written by the log itself`, "USAGE");
    if (n < 1 || n > this.roomBeforeCheckpoint()) throw new AtoError(`appendBodies takes 1 to ${this.roomBeforeCheckpoint()} records (the room before the next checkpoint); got ${n}`, "INTERNAL");
    const cls = opts.class ?? this.o.classification;
    const first = this.written(() => this.writeEncoded(kind, (seq, ts) => encodeChunk(kind, n, body, cls, seq, ts)));
    if (this.sinceCheckpoint >= this.o.checkpointEvery) this.autoCheckpoint("count");
    return first;
  }

  /**
   * Lines that can be appended before the count checkpoint is due. After a checkpoint that
   * could not be written, a whole period: the checkpoint is tried again after it.
   */
  roomBeforeCheckpoint(): number {
    const left = this.o.checkpointEvery - this.sinceCheckpoint;
    return left > 0 ? left : this.o.checkpointEvery;
  }

  /**
   * Signs the current tree and appends the checkpoint line; a signing failure is recorded in
   * the line, not thrown. Throws AtoError("IO") when the line cannot be written or synced, or
   * the rotation after it cannot start the next segment (the next write retries that).
   */
  checkpoint(trigger: CheckpointTrigger = "manual"): CheckpointResult {
    return this.written(() => this.writeCheckpoint(trigger));
  }

  private writeCheckpoint(trigger: CheckpointTrigger): CheckpointResult {
    // The final checkpoint is the last: the interval timer must not add one after it while the agent
    // waits for witnesses and exporters before closing.
    if (trigger === "shutdown") this.stopTimer?.();
    this.commitHeld(); // a held one first: it comes before this one
    const file = this.file ?? this.reopenAfterFailedRotation();
    const c = this.signCheckpoint(trigger, file);
    if (this.o.groupCommit && trigger === "count" && !this.rotationDueAfter(c)) {
      this.held = c; // written when the sync signCheckpoint started returns, unless the next records take it along first
      this.sinceCheckpoint = 0;
      return c.result;
    }
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
    file.syncSoon(() => { if (c && this.held === c) this.autoCommit(); });
    const root = this.tree.root();
    const text = checkpointBody({ origin: this.origin, size: this.size, root });
    const signed = this.signing.sign(new TextEncoder().encode(text));
    const data = checkpointData({ text, signed, origin: this.origin, frontier: this.tree.hashes(), root, segment: this.segment, prev: this.prev, treeSize: this.size, trigger });
    const { text: line, leaves } = encodeObjects("checkpoint", [data as unknown as RecordData], this.o.classification, this.size, rfc3339(this.o.now()));
    const result: CheckpointResult = { seq: this.size, treeSize: data.tree_size, root: data.root, status: data.signature_status, error: signed.ok ? undefined : signed.reason, note: data.note, trigger };
    // Copies: the encoder's buffers are reused by the next records, which may be encoded before this line is written.
    c = { line: line.slice(1), leaf: leaves.slice(0, 32), data, signed, result, sinceBefore: this.sinceCheckpoint };
    return c;
  }

  /** Appends the checkpoint line (and `more`, the records after it, in the same write) and takes it into the tree and the counters. */
  private writeCheckpointLine(c: HeldCheckpoint, file: AppendFile, more?: Uint8Array): void {
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
  private afterCheckpoint(c: HeldCheckpoint, file: AppendFile, mayRotate = true): void {
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

  /** Syncs everything written and tells onCheckpoint of every checkpoint that is now durable. */
  private syncAndAnnounce(file: AppendFile): void {
    file.sync();
    this.announced.upTo(file.durable);
  }

  /** Writes the held checkpoint line alone (its sync returned, or someone needs it written now). */
  private commitHeld(): void {
    const c = this.held;
    if (!c) return;
    const file = this.file!;
    this.held = undefined;
    try {
      file.sync();
      this.writeCheckpointLine(c, file);
    } catch (e) {
      this.sinceCheckpoint = c.sinceBefore; // not written: it is due again after the next piece
      throw e;
    }
    this.afterCheckpoint(c, file);
  }

  /** The held checkpoint committed from the event loop: a failure has no caller, it goes to onError. */
  private autoCommit(): void {
    try {
      this.written(() => this.commitHeld());
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.o.onError(e);
    }
  }

  /** Whether writing this checkpoint line makes the segment due for rotation (then it is not held: a segment ends in a checkpoint). */
  private rotationDueAfter(c: HeldCheckpoint): boolean {
    return this.rotation.enabled && (this.file!.size + c.line.length >= this.o.rotateBytes || this.segmentLines + 1 >= this.o.rotateLines);
  }

  /** The newest checkpoint with a good signature (what the agent serves at /checkpoint). */
  latestCheckpoint(): LatestCheckpoint | undefined {
    return this.latest;
  }

  counters(): EvidenceCounters {
    return this.counts.snapshot();
  }

  /** Bytes of every segment file in the audit directory now (rotated and active), as `du --apparent-size` counts them. */
  bytesOnDisk(): number {
    return segmentBytes(this.o.auditDir);
  }

  status(): EvidenceLogStatus {
    const key = this.signing.key;
    return {
      auditDir: this.o.auditDir,
      activePath: this.activePath,
      logId: this.logId,
      origin: this.origin,
      segment: this.segment,
      treeSize: this.size,
      appendOnly: this.appendOnly,
      rotation: this.rotation,
      writable: this.writable,
      signer: this.signing.state,
      key: key && { name: key.keyName, id: key.keyIdHex, algorithm: key.algorithm },
    };
  }

  /** Replaces the signer (the log owns and closes it). */
  setSigner(signer: CheckpointSigner | null): void {
    this.signing.close();
    this.signing.use(signer);
  }

  /**
   * Starts the segment a refused rotation left pending, signs a final checkpoint (unless the
   * last line already is a signed one), syncs and closes. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.stopTimer?.();
    try {
      if (!this.file && this.pendingSegment) this.written(() => this.reopenAfterFailedRotation());
      if (this.held) this.written(() => this.commitHeld());
      if (this.file && !(this.sinceCheckpoint === 0 && this.lastCheckpointOk)) this.checkpoint("shutdown");
      else if (this.file) this.written(() => this.syncAndAnnounce(this.file!));
    } finally {
      this.closed = true;
      this.file?.close();
      this.signing.close();
      this.lock.release();
    }
  }

  private writeLines(kind: string, data: RecordData[], cls: string): { seq: number; ts: string }[] {
    const { seq, ts } = this.writeEncoded(kind, (first, at) => encodeObjects(kind, data, cls, first, at));
    return data.map((_, i) => ({ seq: seq + i, ts }));
  }

  /**
   * Writes lines `encode` made (a spare byte, then each line with its newline) in one write, then
   * takes their leaves into the tree. A held checkpoint goes first, in the same write, once the
   * lines it covers are durable; if that write fails, neither is written.
   */
  private writeEncoded(kind: string, encode: (firstSeq: number, ts: string) => Encoded): { seq: number; ts: string } {
    if (this.closed) throw new AtoError(`the evidence log ${this.activePath} is closed`, "INTERNAL");
    const file = this.file ?? this.reopenAfterFailedRotation();
    const held = this.held;
    const ts = rfc3339(this.o.now());
    const { text, leaves, count } = encode(this.size + (held ? 1 : 0), ts); // encoded while the held checkpoint's sync runs
    if (held) {
      this.held = undefined;
      try {
        file.sync();
        this.writeCheckpointLine(held, file, text.subarray(1));
      } catch (e) {
        this.sinceCheckpoint = held.sinceBefore;
        throw e;
      }
    } else file.append(text.subarray(1));
    const first = { seq: this.size, ts };
    for (let i = 0; i < count; i++) this.tree.append(leaves, 32 * i);
    this.counts.appended(kind, count, text.length - 1);
    this.segmentLines += count;
    this.sinceCheckpoint += count;
    if (held) this.afterCheckpoint(held, file, false); // records follow it: the segment rotates after the next checkpoint
    return first;
  }

  /** Lines in the log: the next seq. */
  private get size(): number {
    return this.tree.size;
  }

  /**
   * A checkpoint nobody called for (count or timer): when it cannot be written, the records
   * before it stay written and the failure goes to onError; any other error is a bug and is thrown.
   */
  private autoCheckpoint(trigger: "count" | "interval"): void {
    try {
      this.checkpoint(trigger);
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.o.onError(e);
    }
  }

  /** Runs a write, sync or rotation; its outcome is status().writable, and a failure is counted. */
  private written<T>(write: () => T): T {
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

  /** Tells onCheckpoint; what a listener throws is its own bug, reported, never the log's. */
  private announce(result: CheckpointResult): void {
    if (!this.o.onCheckpoint) return;
    try {
      this.o.onCheckpoint(result);
    } catch (e) {
      this.o.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private shouldRotate(): boolean {
    return this.rotation.enabled && (this.file!.size >= this.o.rotateBytes || this.segmentLines >= this.o.rotateLines);
  }

  /** Renames the active segment (ending in a checkpoint) and starts the next one. */
  private rotate(): void {
    const blocked = rotationBlocked(this.o.auditDir, this.segment);
    if (blocked) return this.disableRotation(blocked);
    this.syncAndAnnounce(this.file!); // the segment's last checkpoint is durable and told before its file is closed
    this.file!.close();
    this.file = undefined;
    const renamed = renameActive(this.o.auditDir, this.segment, this.o.appendOnly);
    if (!renamed.ok) {
      this.openActive();
      return this.disableRotation(renamed.reason);
    }
    this.pendingSegment = { file: renamed.name, segment: this.segment, tree_size: this.size, root: base64(this.tree.root()) };
    this.startSegment(this.segment + 1, this.pendingSegment);
    this.pendingSegment = undefined;
  }

  /** After a rotation whose new file could not be made (disk full), the next write retries it. */
  private reopenAfterFailedRotation(): AppendFile {
    if (!this.pendingSegment) throw new AtoError(`the evidence log ${this.activePath} is not open`, "INTERNAL");
    this.startSegment(this.segment + 1, this.pendingSegment);
    this.pendingSegment = undefined;
    return this.file!;
  }

  /** Creates the active file and writes its segment line; the segment number changes only if that worked. */
  private startSegment(segment: number, prev: PrevSegment | null): void {
    const file = AppendFile.open(this.activePath);
    const header: SegmentData = { frontier: this.tree.hashes().map(base64), log_id: this.logId, origin: this.origin, prev, segment, tree_size: this.size, writer: `ato ${VERSION}` };
    this.file = file;
    this.segmentLines = 0;
    try {
      this.writeLines("segment", [header as unknown as RecordData], this.o.classification);
      file.sync();
    } catch (e) {
      file.close();
      this.file = undefined;
      throw e;
    }
    this.segment = segment;
    this.prev = prev;
    syncDir(this.o.auditDir);
    this.applyAppendOnly();
  }

  private openActive(): void {
    this.file = AppendFile.open(this.activePath);
    this.applyAppendOnly();
  }

  private applyAppendOnly(): void {
    if (!this.o.appendOnly) return void (this.appendOnly = { set: false, reason: "disabled by option" });
    const r = setAppendOnly(this.activePath);
    this.appendOnly = r.ok ? { set: true } : { set: false, reason: r.reason };
    if (!r.ok && this.appendOnlyWarned !== r.reason) this.o.onWarning(`cannot set the append-only attribute on ${this.activePath}: ${r.reason}`);
    this.appendOnlyWarned = r.ok ? undefined : r.reason;
  }

  private disableRotation(reason: string): void {
    this.rotation = { enabled: false, reason };
    this.o.onWarning(`rotation is off, the active segment keeps growing: ${reason}`);
  }
}
