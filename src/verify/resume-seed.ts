/**
 * The two hooks that make the one verifier (verifier.ts) resumable, and nothing else: a seed
 * that puts a RunState where an earlier pass stood (just after its last good checkpoint, whose
 * frontier that pass computed itself) so the pass reads on from that byte of that file; and the
 * point each good checkpoint leaves behind, which the next pass may start from. The lines
 * before the point are not read again: resume.ts checks that the files there are still the ones
 * that were verified before it trusts the point.
 */
import type { Hash } from "../tree/index.ts";
import type { SegmentReport } from "./report.ts";
import type { RunState } from "./state.ts";
import { StreamTree } from "./stream-tree.ts";

/** Where a pass may resume: just after a good checkpoint line, with the tree that includes it. */
export interface ResumePoint {
  /** Index of the file in the pass's file list. */
  fileIndex: number;
  segment: number;
  /** Byte offset just past the checkpoint line, and the number of the line after it. */
  offset: number;
  line: number;
  /** Tree size and frontier once the checkpoint line itself is a leaf. */
  treeSize: number;
  frontier: Hash[];
  /** The checkpoint's seq, the tree size and root it signs, and the SPKI SHA-256 of the key that signed it. */
  seq: number;
  checkpointSize: number;
  checkpointRoot: string;
  key: string;
}

export interface ResumeSeed {
  origin: string;
  logId: string;
  point: Omit<ResumePoint, "fileIndex">;
  /** The current name of the point's file (it may have been rotated since). */
  file: string;
}

const points = new WeakMap<RunState, ResumePoint>();

/** Called by the verifier after a checkpoint that became the last good one is hashed in. */
export function markResumePoint(s: RunState, p: ResumePoint): void {
  points.set(s, p);
}

export function resumePointOf(s: RunState): ResumePoint | undefined {
  return points.get(s);
}

/** Before the first line: the state the earlier pass had at its point. */
export function seedState(s: RunState, r: ResumeSeed): void {
  const p = r.point;
  s.origin = r.origin;
  s.logId = r.logId;
  s.tree = new StreamTree(p.treeSize, p.frontier);
  s.expectedSeq = p.seq + 1;
  s.lastGood = { file: r.file, line: p.line - 1, leaf: p.treeSize - 1, treeSize: p.checkpointSize };
  s.lastMatched = { file: r.file, line: p.line - 1, leaf: p.treeSize - 1 };
  s.runId = 1;
}

/**
 * The first file of a resumed pass, instead of its header line: its segment, its place in the
 * tree (no seq is missing before a clean point, so the file's first line is leaf treeSize -
 * (line - 1)) with everything up to the point covered by the checkpoint, and the tail to read
 * again beginning at the point. Returns the verifier's fileStart.
 */
export function beginResumed(s: RunState, r: ResumeSeed, seg: SegmentReport): { size: number; frontier: Hash[]; run: number } {
  const p = r.point;
  seg.segment = p.segment;
  seg.start_leaf = p.treeSize - (p.line - 1);
  seg.covered_to = p.treeSize;
  s.run = [seg];
  s.tailFrom = { fileIndex: 0, offset: p.offset, line: p.line };
  return { size: seg.start_leaf, frontier: [], run: s.runId };
}
