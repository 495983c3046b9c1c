/**
 * What the writer finds in the audit directory when it starts: an active segment to
 * continue (after cutting a torn last line), the last rotated segment to start the next
 * one after (a crash between rename and the new file), or nothing (a new log).
 */
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import type { PrevSegment } from "../evidence/index.ts";
import { base64, frontierRoot, type Hash } from "../tree/index.ts";
import { listLogFiles } from "./paths.ts";
import { repairTornTail, type RepairData } from "./repair.ts";
import { scanSegment, type LastCheckpoint, type SegmentScan } from "./scan.ts";

export interface Recovered {
  size: number;
  frontier: Hash[];
  logId: string;
  origin: string | undefined;
  segment: number;
  prev: PrevSegment | null;
  /** False when the active file is missing or empty and its segment line must be written. */
  continuing: boolean;
  /** Lines and bytes already in the active segment. */
  segmentLines: number;
  repair: RepairData | undefined;
  lastGood: LastCheckpoint | undefined;
  pending: Record<string, number>;
  uncheckpointed: Record<string, number>;
  problems: string[];
}

export function recover(dir: string): Recovered {
  const files = listLogFiles(dir);
  let repair: RepairData | undefined;
  let active = files.active ? scanSegment(files.active) : undefined;
  if (active?.torn) {
    repair = repairTornTail(active.path, active.torn);
    active = scanSegment(active.path);
  }
  const last = files.rotated.at(-1);
  if (active?.header) {
    if (last && last.segment >= active.header.segment) {
      throw new AtoError(`${basename(last.path)} is numbered after the active segment ${active.header.segment}: the audit directory ${dir} is inconsistent`, "CORRUPT");
    }
    return { ...fromScan(active), logId: active.header.log_id, origin: active.header.origin, segment: active.header.segment, prev: active.header.prev, continuing: true, segmentLines: active.lines, repair };
  }
  if (last) {
    const prevScan = scanSegment(last.path);
    if (!prevScan.header) throw new AtoError(`${last.path} is empty: the audit directory ${dir} is inconsistent`, "CORRUPT");
    const prev: PrevSegment = { file: basename(last.path), segment: prevScan.header.segment, tree_size: prevScan.size, root: base64(frontierRoot(prevScan.frontier)) };
    const problems = prevScan.torn ? [...prevScan.problems, `${basename(last.path)} ends in a partial line (${prevScan.torn.reason})`] : prevScan.problems;
    return { ...fromScan(prevScan), problems, logId: prevScan.header.log_id, origin: prevScan.header.origin, segment: prevScan.header.segment + 1, prev, continuing: false, segmentLines: 0, repair };
  }
  return { size: 0, frontier: [], logId: randomBytes(8).toString("hex"), origin: undefined, segment: 1, prev: null, continuing: false, segmentLines: 0, repair, lastGood: undefined, pending: {}, uncheckpointed: {}, problems: [] };
}

function fromScan(s: SegmentScan) {
  return { size: s.size, frontier: s.frontier, lastGood: s.lastGood, pending: s.pending, uncheckpointed: s.uncheckpointed, problems: s.problems };
}
