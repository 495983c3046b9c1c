/**
 * An NDJSON export of forwarded events (what `ato forward` sends: one JSON object per line
 * with origin, seq and the log line verbatim) put back together as the segment files it came
 * from, so `ato verify` checks the copy with exactly the rules, findings and exit codes it
 * applies to the host's own log. Events may come in any order and more than once (delivery
 * is at-least-once): identical copies count once; two different lines for one origin and seq
 * are tampering. A path that is not such an export is passed through untouched.
 */
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { segmentNumberOf } from "../evidence/index.ts";
import { forEachLine } from "../log/lines.ts";
import { rotatedName } from "../log/paths.ts";

export interface Forwarded {
  /** The paths to verify: the input's, with each export replaced by a directory of segments. */
  paths: string[];
  /** Removes the reassembled files (they may go once they are open). */
  cleanup(): void;
}

const EXPORT_NAME = /\.(ndjson|jsonl)$/;
const decoder = new TextDecoder("utf-8", { fatal: true });

export function reassembleForwarded(paths: string[]): Forwarded {
  const exports = paths.filter(isExport);
  if (exports.length === 0) return { paths, cleanup: () => {} };
  const byOrigin = new Map<string, Map<number, string>>();
  for (const p of exports) readExport(p, byOrigin);
  if (byOrigin.size === 0) throw new AtoError(`${exports.join(", ")}: no forwarded events in the export`, "USAGE");
  if (byOrigin.size > 1) throw new AtoError(`the export holds several logs (origins ${[...byOrigin.keys()].join(", ")}); verify one origin at a time`, "USAGE");
  const dir = mkdtempSync(join(tmpdir(), "ato-forwarded-"));
  try {
    const [origin, lines] = [...byOrigin][0]!;
    writeSegments(dir, origin, lines);
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

function readExport(path: string, byOrigin: Map<string, Map<number, string>>): void {
  const fd = openSync(path, "r");
  try {
    let n = 0;
    const end = forEachLine(fd, fstatSync(fd).size, (buf, start, stop) => {
      n++;
      const e = parseEvent(buf.subarray(start, stop), path, n);
      if (e === undefined) return;
      let lines = byOrigin.get(e.origin);
      if (!lines) byOrigin.set(e.origin, (lines = new Map()));
      const had = lines.get(e.seq);
      if (had !== undefined && had !== e.line) throw new AtoError(`${path} line ${n}: two different lines for ${e.origin} seq ${e.seq}: the export was tampered with`, "TAMPERED");
      lines.set(e.seq, e.line);
    });
    if (end.partialLength > 0) throw new AtoError(`${path}: the last event has no newline (a truncated export)`, "INCOMPLETE");
  } finally {
    closeSync(fd);
  }
}

function parseEvent(bytes: Uint8Array, path: string, n: number): { origin: string; seq: number; line: string } | undefined {
  if (bytes.length === 0) return undefined;
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

/** Lines in seq order, a new file at every segment line; the last one is the active segment. */
function writeSegments(dir: string, origin: string, lines: Map<number, string>): void {
  const seqs = [...lines.keys()].sort((a, b) => a - b);
  const files: { segment: number; text: string[] }[] = [];
  for (const seq of seqs) {
    const line = lines.get(seq)!;
    const segment = segmentNumberOf(line);
    if (segment !== undefined) files.push({ segment, text: [] });
    else if (files.length === 0) throw new AtoError(`the export of ${origin} starts at seq ${seq}, inside a segment: it must start at a segment line to be verified`, "INCOMPLETE");
    files.at(-1)!.text.push(line);
  }
  mkdirSync(dir, { recursive: true });
  files.forEach((f, i) => writeFileSync(join(dir, i === files.length - 1 ? "signed_evidence.log" : rotatedName(f.segment)), f.text.join("\n") + "\n"));
}

