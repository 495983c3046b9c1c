/**
 * The writer's segments: the active file, begun by its segment line (the frontier and the
 * previous segment, so a verifier can start there), kept append-only where the filesystem
 * allows, and rotated after a checkpoint once it is large enough. A rotation that cannot be
 * made (the numbered name taken, a refused rename) turns rotation off, said once; one whose
 * new file cannot be made (a full disk) is finished by the next write.
 */
import { AtoError } from "../errors.ts";
import type { PrevSegment, RecordData, SegmentData } from "../evidence/index.ts";
import { base64 } from "../tree/index.ts";
import { VERSION } from "../version.ts";
import { setAppendOnly } from "./attr.ts";
import { LogCore } from "./core.ts";
import { AppendFile, syncDir } from "./file.ts";
import { renameActive, rotationBlocked } from "./rotation.ts";
import type { EvidenceLogStatus } from "./types.ts";

export abstract class LogSegments extends LogCore {
  protected appendOnly: EvidenceLogStatus["appendOnly"] = { set: false, reason: "not tried" };
  protected rotation: EvidenceLogStatus["rotation"] = { enabled: true };
  /** The segment a rotation renamed but could not yet replace (disk full): the next write retries. */
  protected pendingSegment: PrevSegment | undefined;
  private appendOnlyWarned: string | undefined;

  /** Writes lines of one kind through the append path (writer.ts): a segment's first line. */
  protected abstract writeLines(kind: string, data: RecordData[], cls: string): { seq: number; ts: string }[];

  protected shouldRotate(): boolean {
    return this.rotation.enabled && (this.file!.size >= this.o.rotateBytes || this.segmentLines >= this.o.rotateLines);
  }

  /** Renames the active segment (ending in a checkpoint) and starts the next one. */
  protected rotate(): void {
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
  protected reopenAfterFailedRotation(): AppendFile {
    if (!this.pendingSegment) throw new AtoError(`the evidence log ${this.activePath} is not open`, "INTERNAL");
    this.startSegment(this.segment + 1, this.pendingSegment);
    this.pendingSegment = undefined;
    return this.file!;
  }

  /** Creates the active file and writes its segment line; the segment number changes only if that worked. */
  protected startSegment(segment: number, prev: PrevSegment | null): void {
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

  protected openActive(): void {
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
