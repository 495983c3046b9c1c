/**
 * The `data` of a "segment" line: the first line of every segment file. It names the log
 * (origin, log id), the segment number, and where the segment starts in the log's one tree:
 * tree_size lines precede it, and `frontier` is that tree's right edge, so a verifier can
 * start at this file alone; `prev` names the previous segment and its final root, so a
 * verifier holding both checks that they join.
 */
import { hashFromBase64, type Hash } from "../tree/index.ts";
import { corrupt, isCount, type PrevSegment } from "./checkpoint.ts";

export interface SegmentData {
  frontier: string[];
  log_id: string;
  origin: string;
  prev: PrevSegment | null;
  segment: number;
  tree_size: number;
  /** The program that started the segment, e.g. "ato 0.1.0". */
  writer: string;
}

export interface ParsedSegment extends SegmentData {
  frontierHashes: Hash[];
  prevRoot: Hash | null;
}

export function parseSegmentData(d: Record<string, unknown>): ParsedSegment {
  if (!isCount(d.segment) || d.segment < 1) throw corrupt("segment", d.segment);
  if (!isCount(d.tree_size)) throw corrupt("tree_size", d.tree_size);
  if (typeof d.origin !== "string") throw corrupt("origin", d.origin);
  if (typeof d.log_id !== "string") throw corrupt("log_id", d.log_id);
  if (!Array.isArray(d.frontier)) throw corrupt("frontier", d.frontier);
  const prev = d.prev as PrevSegment | null;
  if (prev !== null && (typeof prev !== "object" || typeof prev.file !== "string" || !isCount(prev.segment) || !isCount(prev.tree_size))) throw corrupt("prev", prev);
  const s = d as unknown as SegmentData;
  return {
    ...s,
    frontierHashes: s.frontier.map((f) => hashFromBase64(f, "frontier hash")),
    prevRoot: prev ? hashFromBase64(prev.root, "previous segment root") : null,
  };
}

/**
 * The segment number a whole line declares, if it is a segment line; undefined for any other line,
 * including one that is not JSON (copies of a log rebuilt from forwarded lines are read line by line,
 * and what is not a segment line is simply another leaf).
 */
export function segmentNumberOf(line: string): number | undefined {
  if (!line.includes('"kind":"segment"')) return undefined;
  let o: { kind?: unknown; data?: { segment?: unknown } } | null;
  try {
    o = JSON.parse(line);
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
  return o?.kind === "segment" && Number.isSafeInteger(o.data?.segment) ? (o.data!.segment as number) : undefined;
}
