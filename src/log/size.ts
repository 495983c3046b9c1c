/**
 * The evidence log's size on disk: the bytes of every segment file in the audit directory, read
 * from the directory itself each time, so segments an operator archived away stop counting.
 */
import { statSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { describeErrno } from "./errno.ts";
import { listLogFiles } from "./paths.ts";

/** Bytes of the rotated and active segments, as `du --apparent-size` counts them. */
export function segmentBytes(dir: string): number {
  const files = listLogFiles(dir);
  let sum = 0;
  for (const path of [...files.rotated.map((f) => f.path), ...(files.active ? [files.active] : [])]) {
    try {
      sum += statSync(path).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // archived between the listing and the stat
      throw new AtoError(`cannot read the size of ${path}: ${describeErrno(e)}`, "IO", { cause: e });
    }
  }
  return sum;
}
