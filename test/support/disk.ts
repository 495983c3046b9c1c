/**
 * A full disk for a test: a small tmpfs (needs root) and a file that takes every byte left. tmpfs allocates whole
 * pages, so a file with a partly filled last page still takes small appends after the filler took every free
 * page: a test that needs a write refused waits until that page is full too.
 */
import { closeSync, openSync, statSync, writeSync } from "node:fs";

/** Mounts a tmpfs with `options` ("size=64k") on the existing directory `dir`; the caller unmounts it (umount -l). */
export function mountTmpfs(dir: string, options: string, source = "ato-test"): void {
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", options, source, dir], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mount tmpfs on ${dir}: ${r.stderr}`);
}

/** Writes `path` until its filesystem takes not one byte more (ENOSPC); removing it gives the space back. */
export function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const block = new Uint8Array(64 * 1024);
  try {
    for (let size = block.length; size >= 1;) {
      try {
        writeSync(fd, block, 0, size);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        size >>= 1; // down to the last byte that fits
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Bytes `path`'s last allocated page can still take without a new page (transiently 0 while a write fills it). */
export function pageRoom(path: string): number {
  const st = statSync(path);
  return st.blocks * 512 - st.size;
}
