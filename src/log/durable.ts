/**
 * Durable replacement of a small file (a cursor, a bundle file): write a temporary file, fsync it, rename it
 * over the old one, fsync the directory. After a crash at any point the file is the old one or the new one,
 * whole (rename(2) is atomic), and once this returns the new one survives a power loss. On failure the
 * temporary file is removed, so a full disk leaves nothing half-written behind.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";

/** `what` names the file in the error ("the forwarding cursor"); the error is IO and names the path. */
export function replaceFileSync(path: string, data: string | Uint8Array, o: { mode?: number; what?: string } = {}): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, "w", o.mode ?? 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch (gone) {
      if ((gone as NodeJS.ErrnoException).code !== "ENOENT") throw gone;
    }
    const why = (e as NodeJS.ErrnoException).code === "ENOSPC" ? "no space left on the device" : (e as Error).message;
    throw new AtoError(`cannot save ${o.what ? `${o.what} ` : ""}${path}: ${why}`, "IO", { cause: e });
  }
}
