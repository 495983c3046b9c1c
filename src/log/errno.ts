/** Plain words for the errno codes a log write meets. */
const WORDS: Record<string, string> = {
  ENOSPC: "no space left on the device (disk full)",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted (append-only or immutable file?)",
  EROFS: "read-only filesystem",
  EIO: "input/output error",
  ENOENT: "no such file or directory",
  ENOTDIR: "a path component is not a directory",
  EFBIG: "file too large",
};

export function describeErrno(e: unknown): string {
  const code = (e as { code?: string })?.code;
  return (code && WORDS[code]) ?? (e instanceof Error ? e.message : String(e));
}
