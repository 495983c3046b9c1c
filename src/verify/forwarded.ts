/**
 * An NDJSON export of forwarded events (what `ato forward` sends: one JSON object per line
 * with origin, seq and the log line verbatim) put back together as the segment files it came
 * from, so `ato verify` checks the copy with exactly the rules, findings and exit codes it
 * applies to the host's own log. Events may come in any order and more than once (delivery
 * is at-least-once): identical copies count once; two different lines for one origin and seq
 * are tampering. A path that is not such an export is passed through untouched.
 *
 * Memory is bounded whatever the export's size: events are gathered up to RUN_BYTES, sorted
 * by seq and, when there is more, spilled as a sorted run to the temporary directory; the runs
 * are then merged (forwarded-runs.ts, at most FAN_IN at a time) straight into the segment
 * files. An export that fits in one run never touches the disk twice.
 */
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { segmentNumberOf } from "../evidence/index.ts";
import { forEachLine } from "../log/lines.ts";
import { ACTIVE_LOG_NAME, rotatedName } from "../log/paths.ts";
import { byPlace, mergeRuns, narrowRuns, writeRun, type ExportEvent } from "./forwarded-runs.ts";

export interface Forwarded {
  /** The paths to verify: the input's, with each export replaced by a directory of segments. */
  paths: string[];
  /** Removes the reassembled files (they may go once they are open). */
  cleanup(): void;
}

const EXPORT_NAME = /\.(ndjson|jsonl)$/;
const decoder = new TextDecoder("utf-8", { fatal: true });
/** Line bytes held in memory before a sorted run is spilled (the peak is a small multiple of it). */
export const RUN_BYTES = 8 << 20;

export function reassembleForwarded(paths: string[], o: { runBytes?: number } = {}): Forwarded {
  const exports = paths.filter(isExport);
  if (exports.length === 0) return { paths, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "ato-forwarded-"));
  try {
    const g = new Gather(join(dir, ".runs"), o.runBytes ?? RUN_BYTES);
    exports.forEach((p, i) => readExport(p, i, g));
    if (g.origin === undefined) throw new AtoError(`${exports.join(", ")}: no forwarded events in the export`, "USAGE");
    const events = g.runs.length === 0 ? g.sorted() : mergeRuns(narrowRuns(g.spill()));
    writeSegments(dir, g.origin, events, exports);
    rmSync(join(dir, ".runs"), { recursive: true, force: true });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { paths: [...paths.filter((p) => !isExport(p)), dir], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function isExport(p: string): boolean {
  try {
    return EXPORT_NAME.test(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The events read so far: one origin, the newest ones in memory, the rest in sorted runs. */
class Gather {
  origin: string | undefined;
  readonly runs: string[] = [];
  private held: ExportEvent[] = [];
  private bytes = 0;

  constructor(private readonly runDir: string, private readonly runBytes: number) {}

  add(e: ExportEvent, origin: string): void {
    if (this.origin === undefined) this.origin = origin;
    else if (origin !== this.origin) throw new AtoError(`the export holds several logs (origins ${this.origin}, ${origin}); verify one origin at a time`, "USAGE");
    this.held.push(e);
    this.bytes += e.line.length + 64;
    if (this.bytes >= this.runBytes) this.spill();
  }

  sorted(): ExportEvent[] {
    return this.held.sort(byPlace);
  }

  /** Writes what is held as one more sorted run; returns every run's path. */
  spill(): string[] {
    if (this.held.length > 0) {
      if (this.runs.length === 0) mkdirSync(this.runDir);
      const path = join(this.runDir, `run-${this.runs.length}`);
      writeRun(path, this.sorted());
      this.runs.push(path);
    }
    this.held = [];
    this.bytes = 0;
    return this.runs;
  }
}

function readExport(path: string, src: number, g: Gather): void {
  const fd = openSync(path, "r");
  try {
    let n = 0;
    const end = forEachLine(fd, fstatSync(fd).size, (buf, start, stop) => {
      n++;
      if (stop === start) return;
      const e = parseEvent(buf.subarray(start, stop), path, n);
      g.add({ seq: e.seq, src, n, line: Buffer.from(e.line, "utf8") }, e.origin);
    });
    if (end.partialLength > 0) throw new AtoError(`${path}: the last event has no newline (a truncated export)`, "INCOMPLETE");
  } finally {
    closeSync(fd);
  }
}

function parseEvent(bytes: Uint8Array, path: string, n: number): { origin: string; seq: number; line: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new AtoError(`${path} line ${n} is not a JSON event`, "CORRUPT", { cause: e });
  }
  if (typeof o?.origin !== "string" || !Number.isSafeInteger(o.seq) || typeof o.line !== "string") {
    throw new AtoError(`${path} line ${n} is not a forwarded event (origin, seq and line are required)`, "CORRUPT");
  }
  return { origin: o.origin, seq: o.seq as number, line: o.line };
}

const SEGMENT_MARK = Buffer.from('"kind":"segment"');
const NL = Buffer.from("\n");

/** Lines in seq order, identical copies once, a new file at every segment line; the last file is the active segment. */
function writeSegments(dir: string, origin: string, events: Iterable<ExportEvent>, paths: string[]): void {
  let fd: number | undefined;
  let current: string | undefined;
  let prev: ExportEvent | undefined;
  const out = new BufferedOut();
  try {
    for (const e of events) {
      if (prev && e.seq === prev.seq) {
        if (!e.line.equals(prev.line)) throw new AtoError(`${paths[e.src]} line ${e.n}: two different lines for ${origin} seq ${e.seq}: the export was tampered with`, "TAMPERED");
        continue;
      }
      prev = e;
      const segment = e.line.includes(SEGMENT_MARK) ? segmentNumberOf(e.line.toString("utf8")) : undefined;
      if (segment !== undefined) {
        if (fd !== undefined) out.flush(fd), closeSync(fd);
        current = join(dir, rotatedName(segment));
        fd = openSync(current, "w"); // a segment number given twice: the later file stands, as the verifier will say
      } else if (fd === undefined) {
        throw new AtoError(`the export of ${origin} starts at seq ${e.seq}, inside a segment: it must start at a segment line to be verified`, "INCOMPLETE");
      }
      out.add(fd!, e.line);
      out.add(fd!, NL);
    }
    if (fd !== undefined) out.flush(fd);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (current) renameSync(current, join(dir, ACTIVE_LOG_NAME));
}

/** Small writes gathered into 1 MiB ones. */
class BufferedOut {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  add(fd: number, b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush(fd);
    if (b.length > this.buf.length) return void writeAll(fd, b);
    b.copy(this.buf, this.used);
    this.used += b.length;
  }

  flush(fd: number): void {
    writeAll(fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}
