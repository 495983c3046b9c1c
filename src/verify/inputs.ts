/**
 * The files to verify. PATH arguments are segment files or audit directories. Every file is
 * opened and its size taken before anything is read: a log still being written is verified
 * as it was at that instant, and a rotation during the run cannot swap files underneath.
 * Files are put in log order by the segment number their first line records (so a renamed
 * copy still sorts right); a file whose first line cannot say goes by its name.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { AtoError } from "../errors.ts";
import { ACTIVE_LOG_NAME, listLogFiles, segmentOfName } from "../log/paths.ts";

export interface InputFile {
  path: string;
  fd: number;
  /** Bytes to read: the size when verification started. */
  size: number;
  /** Segment number from the first line, else from the name. */
  order: number;
  /** From a directory listing whose active segment this is. */
  active: boolean;
}

export interface Inputs {
  files: InputFile[];
  /** Directories given whose active segment is missing. */
  missingActive: string[];
  close(): void;
}

export function openInputs(paths: string[]): Inputs {
  if (paths.length === 0) throw new AtoError("give the audit directory or one or more segment files to verify", "USAGE");
  const files: InputFile[] = [];
  const missingActive: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, active: boolean, opened?: number) => {
    const fd = opened ?? openOrUsage(path);
    const st = fstatSync(fd);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return closeSync(fd);
    seen.add(id);
    files.push({ path, fd, size: st.size, order: orderOf(fd, st.size, path), active });
  };
  for (const p of paths) {
    if (statOrUsage(p).isDirectory()) {
      // The active file first, then the listing: a rotation in between then shows the renamed
      // file twice (one inode, kept once) rather than not at all.
      const active = openActive(p);
      const listed = listLogFiles(p);
      for (const r of listed.rotated) add(r.path, false);
      if (active !== undefined) add(join(p, ACTIVE_LOG_NAME), true, active);
      else if (listed.rotated.length > 0) missingActive.push(p);
      else throw new AtoError(`no evidence log (signed_evidence*.log) in ${p}`, "USAGE");
    } else {
      add(p, basename(p) === ACTIVE_LOG_NAME);
    }
  }
  files.sort((a, b) => a.order - b.order);
  return { files, missingActive, close: () => files.forEach((f) => closeSync(f.fd)) };
}

/** Opens DIR/signed_evidence.log, waiting out a rotation (renamed, new file not yet made). */
function openActive(dir: string): number | undefined {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return openSync(join(dir, ACTIVE_LOG_NAME), "r");
    } catch {
      if (listLogFiles(dir).rotated.length === 0) return undefined;
      Bun.sleepSync(10);
    }
  }
  return undefined;
}

function statOrUsage(p: string) {
  try {
    return statSync(p);
  } catch (e) {
    throw new AtoError(`cannot read ${p}: ${(e as Error).message}`, "USAGE", { cause: e });
  }
}

function openOrUsage(p: string): number {
  try {
    return openSync(p, "r");
  } catch (e) {
    throw new AtoError(`cannot open ${p}: ${(e as Error).message}`, "USAGE", { cause: e });
  }
}

function orderOf(fd: number, size: number, path: string): number {
  const head = Buffer.alloc(Math.min(size, 1 << 16));
  readSync(fd, head, 0, head.length, 0);
  const nl = head.indexOf(0x0a);
  try {
    const first = JSON.parse(head.subarray(0, nl < 0 ? head.length : nl).toString("utf8"));
    if (first?.kind === "segment" && Number.isSafeInteger(first.data?.segment)) return first.data.segment;
  } catch {
    // not a record: fall back to the name
  }
  return segmentOfName(basename(path)) ?? (basename(path) === ACTIVE_LOG_NAME ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER - 1);
}
