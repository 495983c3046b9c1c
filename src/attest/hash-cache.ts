/**
 * HashCache: SHA-256 of files, reused while a file provably has not changed.
 *
 * An entry is found by (dev, inode, mtime, size) and used only when the path and the inode's ctime are also the
 * same. What that trusts: the kernel sets ctime to "now" on every change of an inode (a write, a truncate, a
 * chmod, a rename, and utimensat itself), and no system call lets a process set ctime to a chosen value. So a
 * file rewritten with its size kept and its mtime put back (touch -d, utimensat) has a new ctime and is hashed
 * again, and a different file that got a freed inode number has its own ctime. What it cannot see: writes
 * that bypass the kernel's inode (a raw block device, the disk edited offline), or a change made while the
 * system clock was set back to the exact nanosecond of the old ctime (that needs CAP_SYS_TIME, and shows in
 * the clock's own jump). An operation that must not trust even that passes `fresh` and always reads.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from "node:fs";
import { AtoError } from "../errors.ts";
import { sha256FileAsync } from "./digest.ts";

export interface FileStat {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface Entry {
  path: string;
  ctimeNs: bigint;
  sha256: string;
}

/** How many entries a cache keeps (the most recently used), so a saved cache stays small. */
export const CACHE_MAX_ENTRIES = 200_000;

export const statOf = (s: BigIntStats): FileStat => ({ dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs });

export class HashCache {
  private readonly entries = new Map<string, Entry>();

  /** A cache seeded with entries read back from disk (cache-file.ts); each is checked as a fresh one is. */
  static from(entries: Iterable<[string, Entry]>): HashCache {
    const c = new HashCache();
    for (const [k, e] of entries) c.entries.set(k, e);
    return c;
  }

  /** The entries, least recently used first, at most CACHE_MAX_ENTRIES. */
  saved(): [string, Entry][] {
    return [...this.entries].slice(-CACHE_MAX_ENTRIES);
  }

  /** Files read (cache misses) and answers from the cache, for the bundle's summary and tests. */
  hashed = 0;
  hits = 0;

  /** The file's SHA-256 in hex; read when the cache cannot vouch for it. The stat is taken from the open file. */
  sha256(path: string, opts: { fresh?: boolean } = {}): string {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw new AtoError(`cannot read ${path} to hash it: ${(e as Error).message}`, "IO", { cause: e });
    }
    try {
      const st = statOf(fstatSync(fd, { bigint: true }));
      const key = keyOf(st);
      const e = this.entries.get(key);
      if (!opts.fresh && e && e.path === path && e.ctimeNs === st.ctimeNs) {
        this.hits++;
        this.entries.delete(key); // most recently used last: what a saved cache keeps
        this.entries.set(key, e);
        return e.sha256;
      }
      const sha256 = hashFd(fd);
      // A file that changed while it was read is not cached: its stat no longer names these bytes.
      const after = statOf(fstatSync(fd, { bigint: true }));
      if (keyOf(after) === key && after.ctimeNs === st.ctimeNs) {
        this.entries.delete(key);
        this.entries.set(key, { path, ctimeNs: st.ctimeNs, sha256 });
      }
      this.hashed++;
      return sha256;
    } finally {
      closeSync(fd);
    }
  }

  /** The same, without blocking the event loop while a large file (ato's own binary) is read. */
  async sha256Async(path: string): Promise<string> {
    let st: FileStat;
    try {
      st = statOf(statSync(path, { bigint: true }));
    } catch (e) {
      throw new AtoError(`cannot read ${path} to hash it: ${(e as Error).message}`, "IO", { cause: e });
    }
    const key = keyOf(st);
    const e = this.entries.get(key);
    if (e && e.path === path && e.ctimeNs === st.ctimeNs) {
      this.hits++;
      return e.sha256;
    }
    let sha256: string;
    try {
      sha256 = await sha256FileAsync(path);
    } catch (err) {
      throw new AtoError(`cannot read ${path} to hash it: ${(err as Error).message}`, "IO", { cause: err });
    }
    const after = statOf(statSync(path, { bigint: true }));
    if (keyOf(after) === key && after.ctimeNs === st.ctimeNs) {
      this.entries.delete(key);
      this.entries.set(key, { path, ctimeNs: st.ctimeNs, sha256 });
    }
    this.hashed++;
    return sha256;
  }

  get size(): number {
    return this.entries.size;
  }
}

export function keyOf(s: FileStat): string {
  return `${s.dev}:${s.ino}:${s.mtimeNs}:${s.size}`;
}

function hashFd(fd: number): string {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}
