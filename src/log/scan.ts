/**
 * Reads a segment back at start-up: the writer's whole state (tree frontier, next seq, what
 * the last good checkpoint covered, what is still unsigned) is recomputed from the bytes on
 * disk, so nothing but the log itself has to survive a crash. A torn last line is found
 * here and cut off by repair.ts.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { parseCheckpointData, parseSegmentData, type ParsedSegment } from "../evidence/index.ts";
import { appendLeaf, equalHashes, frontierRoot, type Hash } from "../tree/index.ts";
import { describeErrno } from "./errno.ts";
import { forEachLine, leafHashInPlace } from "./lines.ts";

export interface TornTail {
  offset: number;
  length: number;
  reason: string;
}

export interface LastCheckpoint {
  seq: number;
  treeSize: number;
  root: Hash;
  note: string;
}

export interface SegmentScan {
  path: string;
  /** The segment line (first line); undefined for an empty file. */
  header: ParsedSegment | undefined;
  /** Tree size after the last complete line: the next seq. */
  size: number;
  frontier: Hash[];
  lines: number;
  torn: TornTail | undefined;
  lastGood: LastCheckpoint | undefined;
  /** Lines after the last good checkpoint, by kind (unsigned so far). */
  pending: Record<string, number>;
  /** Lines after the last checkpoint of either status, by kind. */
  uncheckpointed: Record<string, number>;
  /** Lines and checkpoints that do not add up: reported, never silently fixed. */
  problems: string[];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export function scanSegment(path: string): SegmentScan {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new AtoError(`cannot read the evidence log ${path}: ${describeErrno(e)}`, "IO", { cause: e });
  }
  try {
    return scanFd(path, fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

function scanFd(path: string, fd: number, fileSize: number): SegmentScan {
  const s: SegmentScan = { path, header: undefined, size: 0, frontier: [], lines: 0, torn: undefined, lastGood: undefined, pending: {}, uncheckpointed: {}, problems: [] };
  let lastLine: { offset: number; parsed: boolean } | undefined;
  const end = forEachLine(fd, fileSize, (buf, start, stop, offset) => {
    const leaf = leafHashInPlace(buf, start, stop);
    const rec = parse(buf.subarray(start, stop));
    lastLine = { offset, parsed: rec !== undefined };
    s.lines++;
    if (s.lines === 1) {
      if (rec?.kind !== "segment") throw new AtoError(`${path} is not an ato evidence segment: its first line is not a segment record`, "CORRUPT");
      s.header = parseSegmentData(rec.data as Record<string, unknown>);
      s.frontier = s.header.frontierHashes;
      s.size = s.header.tree_size;
    }
    const kind = rec?.kind ?? "unparsable";
    if (rec === undefined) s.problems.push(`line ${s.lines} is not a record`);
    else if (rec.seq !== s.size) s.problems.push(`line ${s.lines} has seq ${rec.seq} where ${s.size} was expected`);
    if (kind === "checkpoint") checkpointLine(s, rec!);
    s.frontier = appendLeaf(s.frontier, s.size++, leaf);
    s.pending[kind] = (s.pending[kind] ?? 0) + 1;
    s.uncheckpointed[kind] = (s.uncheckpointed[kind] ?? 0) + 1;
  });
  if (end.partialLength > 0) {
    s.torn = { offset: end.partialOffset, length: end.partialLength, reason: "the last line has no newline (torn write)" };
  } else if (lastLine && !lastLine.parsed && s.lines > 1) {
    s.torn = { offset: lastLine.offset, length: fileSize - lastLine.offset, reason: "the last line is not a complete record" };
  }
  return s;
}

function checkpointLine(s: SegmentScan, rec: { seq: number; data: unknown }): void {
  try {
    const c = parseCheckpointData(rec.data as Record<string, unknown>);
    if (c.tree_size !== s.size || !equalHashes(c.rootHash, frontierRoot(s.frontier))) {
      s.problems.push(`the checkpoint at seq ${rec.seq} does not match the lines before it`);
    }
    s.uncheckpointed = {};
    if (c.signature_status === "ok") {
      s.lastGood = { seq: rec.seq, treeSize: c.tree_size, root: c.rootHash, note: c.note };
      s.pending = {};
    }
  } catch (e) {
    s.problems.push(`the checkpoint at seq ${rec.seq} is malformed: ${(e as Error).message}`);
  }
}

function parse(bytes: Uint8Array): { kind: string; seq: number; data: unknown } | undefined {
  try {
    const o = JSON.parse(decoder.decode(bytes));
    return o && typeof o === "object" && typeof o.kind === "string" && typeof o.seq === "number" ? o : undefined;
  } catch {
    return undefined;
  }
}
