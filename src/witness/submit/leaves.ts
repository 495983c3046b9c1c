/**
 * The leaf hashes the submitter needs for consistency proofs, read back from the audit
 * directory as the writer appends: it follows the active segment by an open descriptor (a
 * rotation renames the file under it, the descriptor stays valid), then the next segment.
 * It keeps the frontier at `base` (the smallest size a witness last cosigned) and the leaves
 * from there on; `trim` forgets what every witness is past. Reading is incremental: each
 * checkpoint costs the bytes written since the previous one.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../errors.ts";
import { parseRecord, parseSegmentData } from "../../evidence/index.ts";
import { ACTIVE_LOG_NAME, leafHashInPlace, listLogFiles, rotatedName } from "../../log/index.ts";
import { appendLeaf, type Hash } from "../../tree/index.ts";

export class LeafSource {
  private base = 0;
  private baseFrontier: Hash[] = [];
  private leaves: Hash[] = [];
  private segment = 0;
  private fd: number | undefined;
  private fdIsActive = false;
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);

  /**
   * `from`: the smallest size proofs will start at (Infinity: not known yet, wait for the first
   * proof); reading begins in the segment that holds it.
   */
  constructor(private readonly dir: string, private from = Infinity) {}

  /** Leaves known: the next leaf index read will have. */
  get size(): number {
    return this.base + this.leaves.length;
  }

  /** Reads what was appended since the last call. */
  catchUp(): void {
    if (this.segment === 0 && this.from === Infinity) return; // no proof has needed a leaf yet
    if (this.segment === 0) this.startAtFirstSegment();
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (this.fd === undefined && !this.openSegment()) return;
      this.readToEnd();
      if (!this.segmentComplete()) return;
      closeSync(this.fd!);
      this.fd = undefined;
      this.segment++;
      this.offset = 0;
    }
  }

  /**
   * Frontier at size m and the leaves of [m, n), reading the log again from its start if m is
   * before what is kept. From 0, or between equal sizes, a proof is empty and nothing is read.
   */
  slice(m: number, n: number): { frontier: Hash[]; leaves: Hash[] } {
    if (m === 0 || m === n) return { frontier: [], leaves: [] };
    if (this.segment === 0) this.from = Math.min(this.from, m); // the first proof: start reading where it begins
    if (m < this.base) this.restart(m);
    this.catchUp();
    if (m < this.base) throw new AtoError(`the segments that hold line ${m} are no longer in ${this.dir}: no proof from ${m} can be made`, "NOT_FOUND");
    if (n > this.size) throw new AtoError(`the audit directory holds ${this.size} lines; a proof to ${n} needs more`, "INTERNAL");
    let frontier = this.baseFrontier;
    for (let i = this.base; i < m; i++) frontier = appendLeaf(frontier, i, this.leaves[i - this.base]!);
    return { frontier, leaves: this.leaves.slice(m - this.base, n - this.base) };
  }

  /** Forgets the leaves before `size` (folding them into the frontier). */
  trim(size: number): void {
    const upTo = Math.min(size, this.size);
    for (let i = this.base; i < upTo; i++) this.baseFrontier = appendLeaf(this.baseFrontier, i, this.leaves[i - this.base]!);
    this.leaves = this.leaves.slice(upTo - this.base);
    this.base = Math.max(this.base, upTo);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private restart(keepFrom: number): void {
    this.close();
    Object.assign(this, { base: 0, baseFrontier: [], leaves: [], segment: 0, offset: 0, partial: Buffer.alloc(0), from: keepFrom });
    this.catchUp();
    this.trim(keepFrom);
  }

  /**
   * The last segment that starts at or before `from` (else the oldest present): its segment
   * line gives the tree size and frontier it starts at, so the lines before it are not read.
   */
  private startAtFirstSegment(): void {
    const files = listLogFiles(this.dir);
    const paths = [...files.rotated.map((f) => f.path), ...(files.active ? [files.active] : [])];
    let chosen: ReturnType<typeof parseSegmentData> | undefined;
    for (const path of paths) {
      const header = parseSegmentData(parseRecord(firstLine(path)).data);
      if (!chosen || header.tree_size <= this.from) chosen = header;
      if (header.tree_size > this.from) break;
    }
    if (!chosen) return;
    this.segment = chosen.segment;
    this.base = chosen.tree_size;
    this.baseFrontier = chosen.frontierHashes;
  }

  private openSegment(): boolean {
    if (this.segment === 0) return false;
    const rotated = join(this.dir, rotatedName(this.segment));
    const path = existsSync(rotated) ? rotated : join(this.dir, ACTIVE_LOG_NAME);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return false; // between a rotation's rename and the new active file
    }
    const header = parseSegmentData(parseRecord(firstLine(path, fd)).data);
    if (header.segment !== this.segment) {
      closeSync(fd);
      return false; // the active file is still the previous segment's or already a later one's
    }
    this.fd = fd;
    this.fdIsActive = path !== rotated;
    return true;
  }

  private readToEnd(): void {
    const size = fstatSync(this.fd!).size;
    if (size <= this.offset) return;
    const buf = Buffer.alloc(1 + this.partial.length + (size - this.offset));
    this.partial.copy(buf, 1);
    const n = readSync(this.fd!, buf, 1 + this.partial.length, size - this.offset, this.offset);
    this.offset += n;
    const end = 1 + this.partial.length + n;
    let start = 1;
    for (let nl = buf.indexOf(0x0a, start); nl !== -1 && nl < end; nl = buf.indexOf(0x0a, start)) {
      this.leaves.push(leafHashInPlace(buf, start, nl));
      start = nl + 1;
    }
    this.partial = Buffer.from(buf.subarray(start, end));
  }

  /** A segment is complete once it has been renamed to its rotated name (and read to its end after that). */
  private segmentComplete(): boolean {
    if (!this.fdIsActive) return true;
    const rotated = join(this.dir, rotatedName(this.segment));
    if (!existsSync(rotated)) return false;
    const a = fstatSync(this.fd!);
    const b = statSync(rotated);
    if (a.ino !== b.ino || a.dev !== b.dev) return false;
    this.readToEnd();
    return true;
  }
}

function firstLine(path: string, opened?: number): string {
  const fd = opened ?? openSync(path, "r");
  try {
    const buf = Buffer.alloc(64 << 10);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl < 0) throw new AtoError(`${path} has no complete first line`, "CORRUPT");
    return buf.subarray(0, nl).toString("utf8");
  } finally {
    if (opened === undefined) closeSync(fd);
  }
}
