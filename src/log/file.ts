/**
 * One segment file opened for append. Every append is one write(2) of whole lines, so a
 * reader never sees half a record unless the write itself was cut short (a full disk, a
 * crash); then the partial bytes are cut off at once, or at the next start-up if even that
 * fails, and the caller gets AtoError("IO") naming the file. Nothing is lost silently.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, openSync, writevSync, writeSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { withoutAppendOnly } from "./attr.ts";
import { describeErrno } from "./errno.ts";

export class AppendFile {
  private fd: number;
  /** Bytes in the file that are whole lines. */
  size: number;
  /** Set when a failed write left partial bytes that could not be removed. */
  private damaged: string | undefined;
  /** Bytes known to be on stable storage: a data sync that started with the file this long has returned. */
  durable = 0;
  /** Bumped on every close: a background sync of an earlier descriptor reports nothing. */
  private generation = 0;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  /** Opens (creating with mode 0640 if needed) for append. */
  static open(path: string): AppendFile {
    try {
      return new AppendFile(path, openSync(path, "a", 0o640));
    } catch (e) {
      throw new AtoError(`cannot open the evidence log ${path} for append: ${describeErrno(e)}`, "IO", { cause: e });
    }
  }

  /** Appends `bytes` (whole lines, each ending in \n) with one write call; `more`, when given, in the same call (writev). */
  append(bytes: Uint8Array, more?: Uint8Array): void {
    if (this.damaged) throw new AtoError(`the evidence log ${this.path} is not writable: ${this.damaged}`, "IO");
    const length = bytes.length + (more?.length ?? 0);
    let written = 0;
    let cause: unknown;
    try {
      written = more ? writevSync(this.fd, [bytes, more]) : writeSync(this.fd, bytes);
    } catch (e) {
      cause = e;
    }
    if (written === length) {
      this.size += written;
      return;
    }
    const what = cause ? describeErrno(cause) : `only ${written} of ${length} bytes were written (disk full?)`;
    this.rollBack();
    throw new AtoError(`cannot append to the evidence log ${this.path}: ${what}; nothing of this write was kept`, "IO", { cause });
  }

  /** Makes every byte written so far durable; returns at once when a background sync already did. */
  sync(): void {
    const size = this.size;
    if (this.durable >= size) return;
    try {
      fdatasyncSync(this.fd); // the data and the size of an appended file: all a reader needs after a crash
    } catch (e) {
      throw new AtoError(`cannot sync the evidence log ${this.path}: ${describeErrno(e)}`, "IO", { cause: e });
    }
    this.durable = size;
  }

  /**
   * Starts a data sync of what is written so far on the thread pool and returns at once; `done`
   * runs on the event loop once it returned (with the error, if any; never after close). A
   * sync() meanwhile waits only for what is left of it: the kernel writes each page once and
   * both wait for the same journal commit. This is how a checkpoint's fsync overlaps its
   * signature and the encoding of the next records.
   */
  syncSoon(done?: (error: AtoError | undefined) => void): void {
    const size = this.size, generation = this.generation;
    if (this.durable >= size) return void (done && queueMicrotask(() => done(undefined)));
    fdatasync(this.fd, (e) => {
      if (generation !== this.generation) return;
      if (!e && size > this.durable) this.durable = size;
      done?.(e ? new AtoError(`cannot sync the evidence log ${this.path}: ${describeErrno(e)}`, "IO", { cause: e }) : undefined);
    });
  }

  close(): void {
    if (this.fd < 0) return;
    this.generation++;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Cuts a partial write back to the last whole line; if that fails, start-up repair will. */
  private rollBack(): void {
    try {
      if (fstatSync(this.fd).size === this.size) return;
      withoutAppendOnly(this.path, () => ftruncateSync(this.fd, this.size));
    } catch (e) {
      this.damaged = `a partial line after byte ${this.size} could not be removed (${describeErrno(e)}); it is repaired at the next start`;
    }
  }
}

/** fsync of a directory, so a rename or a new file survives a power cut. Best effort. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the files themselves are synced.
  }
}
