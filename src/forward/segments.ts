/**
 * Finding the file of segment N in an audit directory. A full segment is renamed from
 * signed_evidence.log to signed_evidence.<N>.log, so the rotated name is tried first; the
 * active file is segment N only when its first line says so. The writer never deletes a
 * segment, so a missing one means somebody removed or replaced the log.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { parseSegmentData, type ParsedSegment } from "../evidence/index.ts";
import { ACTIVE_LOG_NAME, listLogFiles, rotatedName } from "../log/paths.ts";

export interface OpenSegment {
  segment: number;
  path: string;
  fd: number;
  /** Renamed: no line will ever be added. */
  rotated: boolean;
  header: ParsedSegment;
}

/** Opens segment `n`, or returns undefined when it does not exist (yet). */
export function openSegment(dir: string, n: number): OpenSegment | undefined {
  const rotated = tryOpen(join(dir, rotatedName(n)));
  if (rotated !== undefined) return withHeader(dir, n, join(dir, rotatedName(n)), rotated, true);
  const active = tryOpen(join(dir, ACTIVE_LOG_NAME));
  if (active === undefined) return undefined;
  // undefined: a new active file without its first line yet (withHeader closed it)
  const seg = withHeader(dir, n, join(dir, ACTIVE_LOG_NAME), active, false, true);
  if (seg === undefined || seg.header.segment === n) return seg;
  closeSync(active);
  return undefined;
}

/** The segment numbers present: rotated ones and the active one. */
export function segmentsPresent(dir: string): number[] {
  const files = listLogFiles(dir);
  const out = files.rotated.map((r) => r.segment);
  if (files.active) {
    const fd = tryOpen(files.active);
    if (fd !== undefined) {
      try {
        const h = readHeader(files.active, fd, true);
        if (h) out.push(h.segment);
      } finally {
        closeSync(fd);
      }
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

export function closeSegment(s: OpenSegment | undefined): void {
  if (s) closeSync(s.fd);
}

function withHeader(_dir: string, n: number, path: string, fd: number, rotated: boolean, lenient = false): OpenSegment | undefined {
  const header = readHeader(path, fd, lenient);
  if (!header) {
    closeSync(fd);
    return undefined;
  }
  if (rotated && header.segment !== n) {
    closeSync(fd);
    throw new AtoError(`${path} says it is segment ${header.segment}, its name says ${n}: the log was tampered with or replaced`, "CORRUPT");
  }
  return { segment: n, path, fd, rotated, header };
}

/** The segment line; undefined while a new active file has no complete first line yet. */
function readHeader(path: string, fd: number, lenient: boolean): ParsedSegment | undefined {
  const head = Buffer.alloc(Math.min(fstatSync(fd).size, 1 << 16));
  const n = readSync(fd, head, 0, head.length, 0);
  const nl = head.subarray(0, n).indexOf(0x0a);
  if (nl < 0) {
    if (lenient) return undefined;
    throw new AtoError(`${path} has no complete first line: it is not an ato evidence segment`, "CORRUPT");
  }
  try {
    const rec = JSON.parse(head.subarray(0, nl).toString("utf8"));
    if (rec?.kind !== "segment") throw new Error("its first line is not a segment record");
    return parseSegmentData(rec.data);
  } catch (e) {
    throw new AtoError(`${path} is not an ato evidence segment: ${(e as Error).message}`, "CORRUPT", { cause: e });
  }
}

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AtoError(`cannot read the evidence log ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
}
