/**
 * What an operation changed under the watched paths. Before it runs, every file is stat'ed and the ones no
 * package owns are hashed; after it, the tree is walked again, and a file is hashed when it is new, when any of
 * its stat fields moved (inode, size, mtime, ctime, mode, owner), or when no package owns it. A package-owned
 * file whose stat did not move is not read: its provenance stands for it. Paths are visited in sorted order, so
 * the same change gives the same events. Symlinks are recorded by target, never followed.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { join, resolve } from "node:path";
import { AtoError } from "../errors.ts";
import type { HashCache } from "./hash-cache.ts";
import { packageOwners, type PackageSource } from "./provenance.ts";

interface Node {
  type: "file" | "dir" | "symlink" | "other";
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  sha256?: string;
  source?: PackageSource;
}

export type Snapshot = Map<string, Node>;

export type WatchEvent = Record<string, unknown> & { event: string; path: string };

function nodeOf(path: string, s: BigIntStats): Node {
  const type = s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : "other";
  return {
    type, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs, mode: Number(s.mode & 0o7777n), uid: Number(s.uid), gid: Number(s.gid),
    target: type === "symlink" ? readlinkSync(path) : undefined,
  };
}

function walk(root: string, out: Snapshot): void {
  let s: BigIntStats;
  try {
    s = lstatSync(root, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // absent now: may be created by the operation
    throw new AtoError(`cannot stat the watched path ${root}: ${(e as Error).message}`, "IO", { cause: e });
  }
  out.set(root, nodeOf(root, s));
  if (!s.isDirectory()) return;
  for (const name of readdirSync(root).sort()) walk(join(root, name), out);
}

/** Stats every path under `roots` and hashes the files no package owns. */
export function snapshot(roots: readonly string[], cache: HashCache, previous?: Snapshot): Snapshot {
  const snap: Snapshot = new Map();
  for (const r of [...new Set(roots.map((p) => resolve(p)))].sort()) walk(r, snap);
  const files = [...snap].filter(([, n]) => n.type === "file").map(([p]) => p);
  const owners = packageOwners(files);
  for (const [path, n] of snap) {
    if (n.type !== "file") continue;
    n.source = owners.get(path);
    const before = previous?.get(path);
    // Before: what no package owns. After: that, and whatever is new or moved.
    if (!n.source || (previous && (!before || moved(before, n).length > 0))) n.sha256 = tryHash(cache, path);
  }
  return snap;
}

function tryHash(cache: HashCache, path: string): string | undefined {
  try {
    return cache.sha256(path);
  } catch (e) {
    if (e instanceof AtoError && e.code === "IO") return undefined; // removed or unreadable meanwhile: reported by the walk after
    throw e;
  }
}

const FIELDS = ["type", "ino", "size", "mtimeNs", "ctimeNs", "mode", "uid", "gid", "target"] as const;

function moved(a: Node, b: Node): string[] {
  return FIELDS.filter((f) => a[f] !== b[f]);
}

/** The changes from `before` to `after`, in path order. Directories report only their own creation and removal. */
export function diff(before: Snapshot, after: Snapshot): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    if (!a) events.push({ event: "created", path, type: b!.type, sha256_after: b!.sha256, target: b!.target, mode: b!.mode.toString(8), size: Number(b!.size) });
    else if (!b) events.push({ event: "deleted", path, type: a.type, sha256_before: a.sha256, source: a.source });
    else {
      const fields = moved(a, b).filter((f) => !(a.type === "dir" && (f === "mtimeNs" || f === "ctimeNs" || f === "size")));
      const contentChanged = a.sha256 !== undefined && b.sha256 !== undefined && a.sha256 !== b.sha256;
      if (fields.length === 0 && !contentChanged) continue;
      events.push({
        event: contentChanged || (a.sha256 === undefined && b.type === "file" && fields.some((f) => f !== "mode" && f !== "uid" && f !== "gid")) ? "modified" : "metadata",
        path, type: b.type, changed: contentChanged && fields.length === 0 ? ["content"] : fields.map(fieldName),
        sha256_before: a.sha256, sha256_after: b.sha256, source: a.source, size: Number(b.size),
        before_note: a.sha256 === undefined && a.source ? `not hashed before: owned by ${a.source.package} ${a.source.version}` : undefined,
      });
    }
  }
  return events;
}

const fieldName = (f: string) => ({ mtimeNs: "mtime", ctimeNs: "ctime", ino: "inode" })[f] ?? f;

/** Counts for the bundle: what was looked at and what was read. */
export function summary(snap: Snapshot): { files: number; package_owned: number; hashed: number } {
  let files = 0, owned = 0, hashed = 0;
  for (const n of snap.values()) {
    if (n.type !== "file") continue;
    files++;
    if (n.source) owned++;
    if (n.sha256) hashed++;
  }
  return { files, package_owned: owned, hashed };
}
