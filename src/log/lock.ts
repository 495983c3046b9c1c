/**
 * One writer per audit directory: an flock(2) on the directory itself. The kernel drops it
 * when the process dies, so a crashed agent never blocks the next one.
 */
import { closeSync, openSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { tryLockExclusive } from "../../ffi/libc.ts";

export class DirLock {
  private constructor(private fd: number) {}

  static acquire(dir: string): DirLock {
    const fd = openSync(dir, "r");
    if (!tryLockExclusive(fd)) {
      closeSync(fd);
      throw new AtoError(`another ato process is writing the evidence log in ${dir}`, "BUSY");
    }
    return new DirLock(fd);
  }

  release(): void {
    if (this.fd < 0) return;
    closeSync(this.fd); // closing the last descriptor releases the flock
    this.fd = -1;
  }
}
