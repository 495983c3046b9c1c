/**
 * Durable replacement of a small file: write a temporary file, fsync it, rename it over the
 * old one, fsync the directory. After a crash at any point the file is either the old one or
 * the new one, whole (rename(2) is atomic), and once this returns the new one survives a
 * power loss.
 */
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";

export const TEMP_SUFFIX = ".tmp";


/**
 * A durable replacement (as src/log/durable.ts does it) on the thread pool: replacements of different files proceed (and fsync) side by
 * side. `sync: false` keeps the rename's all-or-nothing but not the durability, for a cache.
 */
export async function replaceFile(path: string, data: string, mode = 0o600, sync = true): Promise<void> {
  const temp = `${path}${TEMP_SUFFIX}`;
  try {
    const f = await open(temp, "w", mode);
    try {
      await f.writeFile(data);
      if (sync) await f.sync();
    } finally {
      await f.close();
    }
    await rename(temp, path);
    if (!sync) return;
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (e) {
    throw new AtoError(`cannot save ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
}
