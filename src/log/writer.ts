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
 * The writer is built in layers, a file each (core.ts says how): segments.ts, checkpoints.ts,
 * group-commit.ts; this file is the append path and the public API.
 *
 * A record that was written stays written: when the checkpoint due after it cannot be written,
 * synced or rotated (a full disk), the append still succeeds, the failure goes to onError and
 * status().writable, and the checkpoint is tried again after the next piece of records.
 */
import { AtoError } from "../errors.ts";
import { rfc3339, type RecordData, type RecordKind } from "../evidence/index.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import { CompactFrontier, base64 } from "../tree/index.ts";
import { checkNames } from "./checkpoint-line.ts";
import type { EvidenceCounters } from "./counters.ts";
import { encodeChunk, encodeObjects, encodeTexts, type BodyText, type BodyWriter, type Encoded, type LineWriter } from "./encode.ts";
import { nodeHasher } from "./leaves.ts";
import { LogGroupCommit } from "./group-commit.ts";
import type { EvidenceLogOptions } from "./options.ts";
import { ACTIVE_LOG_NAME } from "./paths.ts";
import { CheckpointSigning } from "./signing.ts";
import { segmentBytes } from "./size.ts";
import { recover } from "./startup.ts";
import type { EvidenceLogStatus } from "./types.ts";

export class EvidenceLog extends LogGroupCommit {
  /** Hashes a chunk's tree nodes a level at a time (leaves.ts). */
  private readonly nodes = nodeHasher();

  private constructor(options: EvidenceLogOptions) {
    super(options);
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
    return this.appendEncoded("appendBodies", kind, n, opts, (cls, seq, ts) => encodeChunk(kind, n, body, cls, seq, ts));
  }

  /**
   * appendBodies with each record's data given as canonical JSON text, or its whole line written by
   * `opts.lines` where that can (the collector's flow records: encode.ts's encodeTexts).
   */
  appendTexts(kind: RecordKind, n: number, body: BodyText, opts: { class?: string; lines?: LineWriter } = {}): { seq: number; ts: string } {
    return this.appendEncoded("appendTexts", kind, n, opts, (cls, seq, ts) => encodeTexts(kind, n, body, cls, seq, ts, opts.lines));
  }

  private appendEncoded(name: string, kind: RecordKind, n: number, opts: { class?: string }, encode: (cls: string, seq: number, ts: string) => Encoded): { seq: number; ts: string } {
    if (kind === "checkpoint" || kind === "segment") throw new AtoError(`'${kind}' lines are written by the log itself`, "USAGE");
    if (n < 1 || n > this.roomBeforeCheckpoint()) throw new AtoError(`${name} takes 1 to ${this.roomBeforeCheckpoint()} records (the room before the next checkpoint); got ${n}`, "INTERNAL");
    const cls = opts.class ?? this.o.classification;
    const first = this.written(() => this.writeEncoded(kind, (seq, ts) => encode(cls, seq, ts)));
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

  /**
   * The log's own signer while it works, for a caller that signs something else with the same key in this
   * process (the agent's attestation bundle at its stop: no second HSM session, which costs a C_OpenSession
   * and C_Login each way). Lent, not given: the caller never closes it, and uses it only before the log
   * closes. Undefined when the log holds no working one (none configured, closed, lost since a PKCS#11
   * failure until a checkpoint reopens it, or its last signature did not verify): the caller opens its own.
   */
  lentSigner(): CheckpointSigner | undefined {
    return this.signing.working;
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

  protected writeLines(kind: string, data: RecordData[], cls: string): { seq: number; ts: string }[] {
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
    this.appendAfterHeld(file, held, text.subarray(1));
    const first = { seq: this.size, ts };
    this.tree.appendMany(leaves, count, this.nodes);
    this.counts.appended(kind, count, text.length - 1);
    this.segmentLines += count;
    this.sinceCheckpoint += count;
    if (held) this.afterCheckpoint(held, file, false); // records follow it: the segment rotates after the next checkpoint
    return first;
  }
}
