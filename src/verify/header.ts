/**
 * The first line of each segment file: where it sits in the log's tree. The first file
 * given anchors the verifier at its recorded frontier (so one segment verifies alone);
 * each later file must join the one before it, or the break is named: a missing segment
 * (incomplete), a duplicate or one from another log, or a segment that does not continue
 * its predecessor (tampered). After a break the verifier re-anchors on the new file.
 */
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import { parseSegmentData, type EvidenceRecord, type ParsedSegment } from "../evidence/index.ts";
import { rotatedName } from "../log/paths.ts";
import { equalHashes, fitsSize, frontierRoot } from "../tree/index.ts";
import type { SegmentReport } from "./report.ts";
import { noteGap } from "./retired.ts";
import { StreamTree } from "./stream-tree.ts";
import type { RunState } from "./state.ts";

/** Returns false when the file cannot be placed in the log and is to be skipped. */
export function checkHeader(s: RunState, rec: EvidenceRecord | undefined, seg: SegmentReport, problem?: string): boolean {
  const f = (severity: "tampered" | "incomplete" | "notice", message: string) => s.findings.add({ severity, file: seg.file, line: 1, seq: rec?.seq, message });
  let h: ParsedSegment | undefined;
  try {
    if (!rec) throw new AtoError(`it is not one (${problem ?? "not a record"})`, "CORRUPT");
    if (rec.kind !== "segment") throw new AtoError("it is not a segment line", "CORRUPT");
    h = parseSegmentData(rec.data);
    if (!fitsSize(h.frontierHashes, h.tree_size) || rec.seq !== h.tree_size) throw new AtoError("its frontier or seq does not fit its tree size", "CORRUPT");
    if (h.prevRoot && (h.prev!.tree_size !== h.tree_size || !equalHashes(h.prevRoot, frontierRoot(h.frontierHashes)))) throw new AtoError("its frontier does not give the previous segment's root it records", "CORRUPT");
  } catch (e) {
    if (!(e instanceof AtoError) || e.code !== "CORRUPT") throw e;
    f("tampered", `the first line should start a segment, but ${e.message}`);
    return s.tree !== undefined; // later files go on from the previous one; a first file cannot be anchored
  }
  seg.segment = h.segment;
  if (!s.tree) {
    if (h.tree_size > 0 || h.segment > 1) s.startGap = { file: seg.file, segment: h.segment, treeSize: h.tree_size };
    if (h.segment > 1) noteGap(s, { from: 1, to: h.segment - 1, startSize: undefined, startFrontier: [], endSize: h.tree_size, endFrontier: h.frontierHashes, file: seg.file });
    return anchor(s, h, seg, undefined);
  }
  if (h.log_id !== s.logId || h.origin !== s.origin) {
    f("tampered", `belongs to another log (origin '${h.origin}'), not to '${s.origin}'`);
    return false;
  }
  const expected = s.lastSegment!.number + 1;
  if (h.segment < expected) {
    f("tampered", `segment ${h.segment} appears twice (also ${s.lastSegment!.file})`);
    return false;
  }
  if (h.segment > expected) {
    const names = Array.from({ length: Math.min(h.segment - expected, 5) }, (_, i) => rotatedName(expected + i)).join(", ");
    const finding = f("incomplete", `segment${h.segment - expected > 1 ? `s ${expected}–${h.segment - 1} are` : ` ${expected} is`} missing (${names}${h.segment - expected > 5 ? ", …" : ""}) between ${s.lastSegment!.file} and this file`);
    noteGap(s, { from: expected, to: h.segment - 1, startSize: s.tree.size, startFrontier: s.tree.frontier, endSize: h.tree_size, endFrontier: h.frontierHashes, file: seg.file, finding });
    return anchor(s, h, seg, undefined);
  }
  const tree = s.tree;
  const joins = h.tree_size === tree.size && h.frontierHashes.length === tree.frontier.length && h.frontierHashes.every((x, i) => equalHashes(x, tree.frontier[i]!));
  if (!joins) {
    f("tampered", `segment ${h.segment} does not continue ${s.lastSegment!.file}: it records that the log had ${h.tree_size} lines with root ${h.prev?.root ?? "?"}, the files before it give ${tree.size} lines with root ${Buffer.from(frontierRoot(tree.frontier)).toString("base64")}`);
    return anchor(s, h, seg, undefined);
  }
  if (h.prev && h.prev.file !== basename(s.lastSegment!.file)) f("notice", `segment ${h.segment - 1} was rotated as ${h.prev.file}, given as ${basename(s.lastSegment!.file)}`);
  s.run.push(seg);
  return true;
}

function anchor(s: RunState, h: ParsedSegment, seg: SegmentReport, notice: string | undefined): boolean {
  if (s.tree) s.reanchored = true; // from here the tree size is what a file records, not what was read
  if (notice) s.findings.add({ severity: "notice", file: seg.file, line: 1, seq: h.tree_size, message: notice });
  s.origin ??= h.origin;
  s.logId ??= h.log_id;
  s.tree = new StreamTree(h.tree_size, h.frontierHashes);
  s.expectedSeq = h.tree_size;
  s.lastMatched = { file: seg.file, line: 1, leaf: h.tree_size };
  s.pendingGaps.clear();
  s.run = [seg];
  s.runId++;
  return true;
}
