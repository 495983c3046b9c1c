/**
 * The append-only file attribute (FS_APPEND_FL, `chattr +a`). With it set, the kernel lets
 * nobody (root included) truncate, overwrite, rename or delete the file; only
 * CAP_LINUX_IMMUTABLE can clear it. ato sets it on every segment it writes, and clears it
 * only for the two operations that need it, each followed by setting it again: cutting a
 * torn last line at start-up, and renaming the active segment at rotation.
 *
 * chattr(1) (e2fsprogs) does the FS_IOC_SETFLAGS ioctl; ato calls it instead of holding raw
 * pointers outside ffi/. Filesystems without the flag (tmpfs before Linux 6.0, overlayfs,
 * NFS…) make it fail: that is reported, never fatal.
 */
import { AtoError } from "../errors.ts";

export type AttrResult = { ok: true } | { ok: false; reason: string };

export function setAppendOnly(path: string): AttrResult {
  return chattr("+a", path);
}

export function clearAppendOnly(path: string): AttrResult {
  return chattr("-a", path);
}

export function isAppendOnly(path: string): boolean {
  try {
    const r = Bun.spawnSync(["lsattr", "-d", path], { stdout: "pipe", stderr: "pipe" });
    return r.exitCode === 0 && /^\S*a\S*\s/.test(r.stdout.toString());
  } catch {
    return false;
  }
}

function chattr(op: "+a" | "-a", path: string): AttrResult {
  try {
    const r = Bun.spawnSync(["chattr", op, path], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode === 0) return { ok: true };
    const why = r.stderr.toString().trim().split("\n").pop() ?? "";
    return { ok: false, reason: why.replace(/^chattr: /, "") || `chattr exited with ${r.exitCode}` };
  } catch (e) {
    return { ok: false, reason: `chattr is not available (${(e as Error).message})` };
  }
}

/** Runs `fn`, which needs the attribute cleared, and sets it again afterwards if it was set. */
export function withoutAppendOnly<T>(path: string, fn: () => T): T {
  const wasSet = isAppendOnly(path);
  if (wasSet) {
    const r = clearAppendOnly(path);
    if (!r.ok) throw new AtoError(`${path} is append-only and the attribute cannot be cleared (needs CAP_LINUX_IMMUTABLE): ${r.reason}`, "PERMISSION");
  }
  try {
    return fn();
  } finally {
    if (wasSet) setAppendOnly(path);
  }
}
