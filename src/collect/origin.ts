/**
 * One origin's rebuilt audit directory: the forwarded lines verbatim, in the order they
 * arrive, in segment files named as the host named them (a segment line starts a new active
 * file and the previous one is renamed to its rotated name, as the host's writer did). Every
 * line's seq is remembered with a hash of the line, so a re-delivered line is skipped and a
 * different line for a held seq is a finding (kept aside, never written into the log). Seqs
 * that jumped are the gaps; a line for a seq that arrives after a later one was written
 * cannot be put back into an append-only file, so it is kept aside too and reported.
 * Nothing is durable until sync(): the collector acks only after it.
 *
 * Memory does not grow with the log: the hashes of the last HELD_WINDOW seqs are kept (far
 * more than JetStream can redeliver at once: max_ack_pending plus a batch); a copy of an older
 * seq is compared with the line in the file, found by scanning the one segment that holds it.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ACTIVE_LOG_NAME, listLogFiles, rotatedName } from "../log/paths.ts";
import { AtoError } from "../errors.ts";
import { segmentNumberOf } from "../evidence/index.ts";
import { forEachLine } from "../log/lines.ts";

/** Seqs whose line hashes stay in memory (a copy of an older one is checked against the file). */
export const HELD_WINDOW = 100_000;
/** Checkpoint timestamps kept, newest last (the last signed one is what the fleet watches). */
const CHECKPOINT_TS_KEPT = 1_000;

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

const digest = (line: string | Uint8Array) => createHash("sha256").update(line).digest("base64").slice(0, 22);

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
  /** The first seq of each segment file, in order: where an old seq is looked up. */
  private readonly files: { segment: number; firstSeq: number }[] = [];
  private fd: number | undefined;
  private segment: number | undefined;
  private dirty = false;
  private dirDirty = false;

  constructor(readonly origin: string, readonly out: string, private readonly window = HELD_WINDOW) {
    this.dir = join(out, dirNameOf(origin));
    mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  get missing(): number {
    return this.gaps.reduce((n, [a, b]) => n + b - a + 1, 0);
  }

  /** Adds one forwarded line; false when it was already held. */
  add(seq: number, line: string): boolean {
    const had = this.held.get(seq) ?? (seq < this.next ? this.lineDigestOnDisk(seq) : undefined);
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
    if (segment !== undefined) this.rotate(segment, seq);
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

  private note(seq: number, line: string | Uint8Array, hash = digest(line)): void {
    this.held.set(seq, hash);
    if (this.held.size > this.window) this.held.delete(this.held.keys().next().value!); // the oldest: Maps keep insertion order
    this.next = seq + 1;
    const isCheckpoint = typeof line === "string" ? line.includes('"kind":"checkpoint"') : Buffer.from(line.buffer, line.byteOffset, line.length).includes(CHECKPOINT_MARK);
    if (isCheckpoint) {
      try {
        const o = JSON.parse(typeof line === "string" ? line : Buffer.from(line).toString("utf8"));
        if (o.kind === "checkpoint") this.checkpointTs.set(o.data.tree_size, o.ts);
        if (this.checkpointTs.size > CHECKPOINT_TS_KEPT) this.checkpointTs.delete(this.checkpointTs.keys().next().value!);
      } catch {
        // not ours to judge: verify reports the line
      }
    }
  }

  /** The hash of the line the files hold for an old seq (beyond the window), or undefined when none is there (a gap). */
  private lineDigestOnDisk(seq: number): string | undefined {
    const i = this.files.findLastIndex((f) => f.firstSeq <= seq);
    if (i < 0) return undefined;
    const f = this.files[i]!;
    const path = i === this.files.length - 1 ? join(this.dir, ACTIVE_LOG_NAME) : join(this.dir, rotatedName(f.segment));
    const fd = openSync(path, "r");
    let found: string | undefined;
    try {
      forEachLine(fd, fstatSync(fd).size, (buf, start, end) => {
        const line = buf.subarray(start, end);
        const s = seqOfBytes(line, path);
        if (s < seq) return false;
        if (s === seq) found = digest(line);
        return true;
      });
    } finally {
      closeSync(fd);
    }
    return found;
  }

  /** A new segment begins: the active file (of the previous segment) takes its rotated name. */
  private rotate(segment: number, firstSeq: number): void {
    this.files.push({ segment, firstSeq });
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
      // Streamed through one buffer: a restart reads the directory once, and holds none of it.
      const fd = openSync(p, "r+");
      try {
        const end = forEachLine(fd, fstatSync(fd).size, (buf, start, stop) => {
          const line = buf.subarray(start, stop);
          const seq = seqOfBytes(line, p);
          if (seq > this.next) this.gaps.push([this.next, seq - 1]);
          const segment = Buffer.from(line.buffer, line.byteOffset, line.length).includes(SEGMENT_MARK) ? segmentNumberOf(Buffer.from(line).toString("utf8")) : undefined;
          if (segment !== undefined) {
            this.segment = segment;
            this.files.push({ segment, firstSeq: seq });
          }
          this.note(seq, line);
        });
        if (end.partialLength > 0) {
          ftruncateSync(fd, end.partialOffset);
          fsyncSync(fd);
        }
      } finally {
        closeSync(fd);
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

const SEGMENT_MARK = Buffer.from('"kind":"segment"');
const CHECKPOINT_MARK = Buffer.from('"kind":"checkpoint"');

/** The seq of a canonical line: its last "seq" key (the envelope's keys are sorted: seq comes after data). */
function seqOfBytes(line: Uint8Array, path: string): number {
  const b = Buffer.from(line.buffer, line.byteOffset, line.length);
  const at = b.lastIndexOf('"seq":');
  const m = at < 0 ? null : /^"seq":(\d+)/.exec(b.toString("latin1", at, Math.min(b.length, at + 30)));
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
