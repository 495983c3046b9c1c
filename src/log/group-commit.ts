/**
 * Group commit (option `groupCommit`): a count checkpoint is signed in the call that made it
 * due, and its line is *held* rather than waited for. The held line is written when the sync
 * of the lines it covers returns (from the event loop, alone) or together with the next
 * records (one write, once that sync is done), whichever comes first; never held when it must
 * end a segment (rotation due). A held line that cannot be written is dropped, and the
 * checkpoint falls due again after the next piece of records, as a failed checkpoint always
 * did (see commit.ts for what is held).
 */
import { AtoError } from "../errors.ts";
import { LogCheckpoints } from "./checkpoints.ts";
import type { HeldCheckpoint } from "./commit.ts";
import type { AppendFile } from "./file.ts";

export abstract class LogGroupCommit extends LogCheckpoints {
  /** The count checkpoint signed and waiting for the sync of the lines it covers. */
  protected held: HeldCheckpoint | undefined;

  protected hold(c: HeldCheckpoint): boolean {
    if (!(this.o.groupCommit && c.result.trigger === "count" && !this.rotationDueAfter(c))) return false;
    this.held = c;
    this.sinceCheckpoint = 0;
    return true;
  }

  protected coveredSynced(c: HeldCheckpoint): void {
    if (this.held === c) this.autoCommit();
  }

  /** Writes the held checkpoint line alone (its sync returned, or someone needs it written now). */
  protected commitHeld(): void {
    const c = this.held;
    if (!c) return;
    const file = this.file!;
    this.writeHeld(file, c);
    this.afterCheckpoint(c, file);
  }

  /**
   * Appends records (whole lines), after the held checkpoint line `held` in the same write when
   * one waits, once the lines it covers are durable; if that write fails, neither is written.
   */
  protected appendAfterHeld(file: AppendFile, held: HeldCheckpoint | undefined, records: Uint8Array): void {
    if (!held) return file.append(records);
    this.writeHeld(file, held, records);
  }

  /** The held checkpoint's line, with `records` after it in the same write, once the lines it covers are synced. */
  private writeHeld(file: AppendFile, held: HeldCheckpoint, records?: Uint8Array): void {
    this.held = undefined;
    try {
      file.sync();
      this.writeCheckpointLine(held, file, records);
    } catch (e) {
      this.sinceCheckpoint = held.sinceBefore; // not written: it is due again after the next piece
      throw e;
    }
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
}
