/**
 * One origin's rebuilt audit directory: the forwarded lines verbatim, in the order they
 * arrive, in segment files named as the host named them (a segment line starts a new active
 * file and the previous one is renamed to its rotated name, as the host's writer did). Every
 * line's seq is remembered with a hash of the line, so a re-delivered line is skipped and a
 * different line for a held seq is a finding (kept aside, never written into the log). Seqs
 * that jumped are the gaps; a line for a seq that arrives after a later one was written
 * cannot be put back into an append-only file, so it is kept aside too and reported.
 * Nothing is durable until sync(): the collector acks only after it.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ACTIVE_LOG_NAME, listLogFiles, rotatedName } from "../log/paths.ts";
import { AtoError } from "../errors.ts";
import { segmentNumberOf } from "../evidence/index.ts";

export interface CollectFinding {
  origin: string;
  seq: number;
  kind: "conflict" | "late";
  message: string;
}

/** A directory name for an origin ("ato/h/x" → "ato%2Fh%2Fx"), reversible and safe in a path. */
export function dirNameOf(origin: string): string {
  return origin.replace(/[^A-Za-z0-9._-]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")).replace(/^\./, "%2E");
}

export function originOfDirName(name: string): string {
  return decodeURIComponent(name);
}

const digest = (line: string) => createHash("sha256").update(line).digest("base64").slice(0, 22);

export class OriginDir {
  readonly dir: string;
  private readonly held = new Map<number, string>();
  /** Next seq expected in order; lines below it that are not held are late. */
  next = 0;
  /** Missing seq ranges, inclusive. */
  readonly gaps: [number, number][] = [];
  readonly findings: CollectFinding[] = [];
  /** ts of each checkpoint line by its tree_size, for the age of the last signed one. */
  readonly checkpointTs = new Map<number, string>();
  written = 0;
  private fd: number | undefined;
  private segment: number | undefined;
  private dirty = false;
  private dirDirty = false;

  constructor(readonly origin: string, readonly out: string) {
    this.dir = join(out, dirNameOf(origin));
    mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  get missing(): number {
    return this.gaps.reduce((n, [a, b]) => n + b - a + 1, 0);
  }

  /** Adds one forwarded line; false when it was already held. */
  add(seq: number, line: string): boolean {
    const had = this.held.get(seq);
    if (had !== undefined) {
      if (had !== digest(line)) this.aside("conflict", seq, line, `a different line for seq ${seq}, which the rebuilt log already holds: one of the two copies was altered`);
      return false;
    }
    if (seq < this.next) {
      this.aside("late", seq, line, `seq ${seq} arrived after seq ${this.next - 1} was written: it cannot be put back in order (kept aside)`);
      this.held.set(seq, digest(line));
      return true;
    }
    if (seq > this.next) this.gaps.push([this.next, seq - 1]);
    const segment = segmentNumberOf(line);
    if (segment !== undefined) this.rotate(segment);
    if (this.fd === undefined) this.openActive();
    writeSync(this.fd!, line + "\n");
    this.note(seq, line);
    this.written++;
    this.dirty = true;
    return true;
  }

  /** Makes everything added so far durable (data, then the directory's names). */
  sync(): void {
    if (this.dirty && this.fd !== undefined) fsyncSync(this.fd);
    if (this.dirDirty) syncDir(this.dir);
    if (this.findingsDirty) syncDir(this.dir);
    this.dirty = this.dirDirty = this.findingsDirty = false;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private findingsDirty = false;

  private aside(kind: CollectFinding["kind"], seq: number, line: string, message: string): void {
    this.findings.push({ origin: this.origin, seq, kind, message });
    const fd = openSync(join(this.dir, `collect.${kind}.ndjson`), "a");
    try {
      writeSync(fd, JSON.stringify({ line, origin: this.origin, seq }) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.findingsDirty = true;
  }

  private note(seq: number, line: string): void {
    this.held.set(seq, digest(line));
    this.next = seq + 1;
    if (line.includes('"kind":"checkpoint"')) {
      try {
        const o = JSON.parse(line);
        if (o.kind === "checkpoint") this.checkpointTs.set(o.data.tree_size, o.ts);
      } catch {
        // not ours to judge: verify reports the line
      }
    }
  }

  /** A new segment begins: the active file (of the previous segment) takes its rotated name. */
  private rotate(segment: number): void {
    const active = join(this.dir, ACTIVE_LOG_NAME);
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.segment !== undefined && existsSync(active)) {
      const to = join(this.dir, rotatedName(this.segment));
      if (existsSync(to)) throw new AtoError(`${this.origin}: segment ${this.segment} arrives a second time (${to} exists)`, "CORRUPT");
      renameSync(active, to);
    }
    this.segment = segment;
    this.dirDirty = true;
  }

  private openActive(): void {
    this.fd = openSync(join(this.dir, ACTIVE_LOG_NAME), "a");
    this.dirDirty = true;
  }

  /** Rebuilds the in-memory state from the directory a previous run left (a crash may leave half a line: it was never acked). */
  private load(): void {
    const files = listLogFiles(this.dir);
    const paths = [...files.rotated.map((f) => f.path), ...(files.active ? [files.active] : [])];
    for (const p of paths) {
      const text = readFileSync(p, "utf8");
      const end = text.lastIndexOf("\n") + 1;
      if (end < text.length) {
        const fd = openSync(p, "r+");
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
        fsyncSync(fd);
        closeSync(fd);
      }
      for (const line of text.slice(0, end).split("\n").slice(0, -1)) {
        const seq = seqOf(line, p);
        if (seq > this.next) this.gaps.push([this.next, seq - 1]);
        const segment = segmentNumberOf(line);
        if (segment !== undefined) this.segment = segment;
        this.note(seq, line);
      }
    }
    if (files.active) this.fd = openSync(files.active, "a");
    for (const kind of ["conflict", "late"] as const) {
      const p = join(this.dir, `collect.${kind}.ndjson`);
      if (!existsSync(p)) continue;
      for (const l of readFileSync(p, "utf8").split("\n").filter(Boolean)) {
        const e = JSON.parse(l) as { seq: number };
        this.findings.push({ origin: this.origin, seq: e.seq, kind, message: `seq ${e.seq}: a ${kind === "conflict" ? "conflicting" : "late"} line kept aside by an earlier run (collect.${kind}.ndjson)` });
      }
    }
  }
}

function seqOf(line: string, path: string): number {
  const m = /"seq":(\d+)/.exec(line.slice(line.lastIndexOf('"seq":')));
  if (!m) throw new AtoError(`${path}: a line without a seq in the rebuilt log (was it edited?)`, "CORRUPT");
  return Number(m[1]);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
