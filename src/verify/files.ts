/**
 * What a segment is, for a verifier that treats every path as hostile: a regular file,
 * opened without blocking (a FIFO under a segment's name must not hang the run) and checked
 * on its descriptor (not its name, which can change between the check and the open). A
 * file is known by device and inode, so a symlink or hard link to another segment is seen
 * for what it is. Anything else, or a path that cannot be read, is a usage error naming it.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { AtoError } from "../errors.ts";

/** More files than this in one run is refused: each is held open from the start. */
export const MAX_FILES = 10_000;

/** The longest first line `orderOf` looks at (a segment line is a few KiB). */
const HEAD_BYTES = 1 << 16;

const WORDS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a path component is not a directory",
  ELOOP: "too many levels of symbolic links (a symlink loop?)",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "input/output error",
  ENXIO: "no such device or address (a socket?)",
  EISDIR: "is a directory",
  ENAMETOOLONG: "the name is too long",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EOVERFLOW: "the file is too large",
};

/** The errno code of a failed system call, or undefined for anything else (a bug: rethrown). */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** A failed system call on `path` as a usage error; anything that is not one is rethrown. */
export function usageFromErrno(e: unknown, what: string): AtoError {
  const code = errnoOf(e);
  if (code === undefined) throw e;
  return new AtoError(`${what}: ${WORDS[code] ?? code}`, "USAGE", { cause: e });
}

export type PathKind = "file" | "directory" | "missing";

/** A path's kind, following symlinks; a FIFO, socket or device is refused here. */
export function pathKind(path: string, o: { missingOk?: boolean } = {}): PathKind {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if (o.missingOk && errnoOf(e) === "ENOENT") return "missing";
    throw usageFromErrno(e, `cannot read ${path}`);
  }
  if (st.isDirectory()) return "directory";
  refuseIrregular(path, st);
  return "file";
}

/** Opens a regular file for reading; never blocks, whatever the path turns out to be. */
export function openRegular(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const failed = usageFromErrno(e, `cannot open ${path}`);
    const st = statOrUndefined(path);
    if (st) refuseIrregular(path, st); // a socket's open fails (ENXIO): name what it is
    throw failed;
  }
  try {
    refuseIrregular(path, fstatSync(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

function refuseIrregular(path: string, st: Stats): void {
  if (st.isFile()) return;
  const kind = st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : st.isSocket() ? "a socket" : st.isCharacterDevice() ? "a character device" : st.isBlockDevice() ? "a block device" : "not a regular file";
  throw new AtoError(`${path} is ${kind}, not a segment file: only regular files are read`, "USAGE");
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if (errnoOf(e) === undefined) throw e;
    return undefined;
  }
}

/** Device and inode: one file under any name. */
export function fileId(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

/** The file a path names now (symlinks followed), or undefined when there is none. */
export function currentId(path: string): string | undefined {
  const st = statOrUndefined(path);
  return st && fileId(st);
}

/** The first bytes of a file (enough for its first line). */
export function readHead(fd: number, size: number, path: string): Uint8Array {
  const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n);
  } catch (e) {
    throw usageFromErrno(e, `cannot read ${path}`);
  }
}

/** A small input file (a key, a saved checkpoint) as text: a regular file of at most `max` bytes. */
export function readSmallFile(path: string, what: string, max: number): string {
  const fd = openRegular(path);
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new AtoError(`${what} ${path} is ${size} bytes, more than the ${max} such a file can be`, "USAGE");
    const buf = Buffer.alloc(size);
    let n = 0;
    while (n < size) {
      const got = readSync(fd, buf, n, size - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString("utf8");
  } catch (e) {
    if (e instanceof AtoError) throw e;
    throw usageFromErrno(e, `cannot read ${what} ${path}`);
  } finally {
    closeSync(fd);
  }
}
