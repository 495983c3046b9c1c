/**
 * The files to verify. PATH arguments are segment files or audit directories. Every file is
 * opened and its size taken before anything is read: a log still being written is verified
 * as it was at that instant, and a rotation during the run cannot swap files underneath.
 * Files are put in log order by the segment number their first line records (so a renamed
 * copy still sorts right); a file whose first line cannot say goes by its name.
 *
 * Every path is hostile (src/verify/files.ts): only regular files are read, and two names of
 * one file are reported as an alias, never read twice or merged silently.
 */
import { closeSync, fstatSync } from "node:fs";
import { basename, join } from "node:path";
import { AtoError } from "../errors.ts";
import { ACTIVE_LOG_NAME, listLogFiles, segmentOfName } from "../log/paths.ts";
import { currentId, fileId, MAX_FILES, openRegular, pathKind, readHead } from "./files.ts";
import { firstLineSegment } from "./bounded.ts";

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

/** A name that is another given name's file (a symlink, a hard link, a path given twice). */
export interface Alias {
  path: string;
  sameAs: string;
}

export interface Inputs {
  files: InputFile[];
  /** Directories given whose active segment is missing. */
  missingActive: string[];
  aliases: Alias[];
  close(): void;
}

export function openInputs(paths: string[]): Inputs {
  if (paths.length === 0) throw new AtoError("give the audit directory or one or more segment files to verify", "USAGE");
  const files: InputFile[] = [];
  const missingActive: string[] = [];
  const aliases: Alias[] = [];
  const seen = new Map<string, string>();
  const close = () => files.forEach((f) => closeSync(f.fd));
  const add = (path: string, active: boolean, opened?: number) => {
    if (files.length >= MAX_FILES) throw new AtoError(`more than ${MAX_FILES} segment files given: verify them in parts (each part from a --trusted-checkpoint)`, "USAGE");
    const fd = opened ?? openRegular(path);
    const st = fstatSync(fd);
    const id = fileId(st);
    const first = seen.get(id);
    if (first !== undefined) {
      closeSync(fd);
      aliases.push({ path, sameAs: first });
      return;
    }
    seen.set(id, path);
    files.push({ path, fd, size: st.size, order: orderOf(fd, st.size, path), active });
  };
  try {
    for (const p of paths) {
      if (pathKind(p) === "directory") addDirectory(p, add, missingActive);
      else add(p, basename(p) === ACTIVE_LOG_NAME);
    }
  } catch (e) {
    close();
    throw e;
  }
  files.sort((a, b) => a.order - b.order);
  return { files, missingActive, aliases, close };
}

function addDirectory(dir: string, add: (path: string, active: boolean, fd?: number) => void, missingActive: string[]): void {
  // The active file first, then the listing: a rotation in between shows the renamed file
  // under both names. That one case is told from a link by looking again: after a rotation
  // the active name is another file (or none); a link still names the same one.
  const activePath = join(dir, ACTIVE_LOG_NAME);
  const active = openActive(dir);
  const listed = listing(dir);
  const activeId = active === undefined ? undefined : fileId(fstatSync(active));
  const rotatedSince = activeId !== undefined && currentId(activePath) !== activeId;
  let activeWasRotated = false;
  for (const r of listed.rotated) {
    if (rotatedSince && currentId(r.path) === activeId) activeWasRotated = true;
    add(r.path, false);
  }
  if (active !== undefined && activeWasRotated) closeSync(active); // read once, under its rotated name
  else if (active !== undefined) add(activePath, true, active);
  else if (listed.rotated.length > 0) missingActive.push(dir);
  else throw new AtoError(`no evidence log (signed_evidence*.log) in ${dir}`, "USAGE");
}

/** Opens DIR/signed_evidence.log, waiting out a rotation (renamed, new file not yet made). */
function openActive(dir: string): number | undefined {
  const path = join(dir, ACTIVE_LOG_NAME);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (pathKind(path, { missingOk: true }) !== "missing") return openRegular(path);
    if (listing(dir).rotated.length === 0) return undefined;
    Bun.sleepSync(10);
  }
  return undefined;
}

function listing(dir: string): ReturnType<typeof listLogFiles> {
  try {
    return listLogFiles(dir);
  } catch (e) {
    if (e instanceof AtoError && e.code === "IO") throw new AtoError(e.message, "USAGE", { cause: e.cause });
    throw e;
  }
}

function orderOf(fd: number, size: number, path: string): number {
  const fromLine = firstLineSegment(readHead(fd, size, path));
  return fromLine ?? segmentOfName(basename(path)) ?? (basename(path) === ACTIVE_LOG_NAME ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER - 1);
}
