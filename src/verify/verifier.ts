/**
 * `ato verify`'s engine: one pass over the segment files in log order, line by line. Each
 * line is hashed as a leaf into the running frontier, its seq checked, and each checkpoint
 * compared with the tree it signs (checkpoint.ts). Memory is the frontier plus a report per
 * file, whatever the size of the log; no line longer than MAX_LINE_BYTES is held, and none
 * reaches JSON.parse without the bounds of bounded.ts. The lines no signed checkpoint
 * covers are read a second time at the end (tail.ts).
 */
import { basename } from "node:path";
import type { EvidenceRecord } from "../evidence/index.ts";
import { segmentOfName } from "../log/paths.ts";
import { equalHashes, frontierRoot } from "../tree/index.ts";
import { parseLine } from "./bounded.ts";
import { checkCheckpoint } from "./checkpoint.ts";
import { checkHeader } from "./header.ts";
import type { InputFile } from "./inputs.ts";
import { quickKind, quickSeq } from "./quick.ts";
import { readLines, type ReadEnd } from "./read.ts";
import { beginResumed, markResumePoint, seedState, type ResumeSeed } from "./resume-seed.ts";
import type { SegmentReport } from "./report.ts";
import { coverRetired, isRetireLine, noteRetire, noteSegmentEnd } from "./retired.ts";
import { checkFrom } from "./start.ts";
import { RunState, type VerifyOptions } from "./state.ts";
import { checkTail } from "./tail.ts";

/** `resume` (resume.ts): go on from a point an earlier pass left in files[0], instead of from its first line. */
export function verifyFiles(files: InputFile[], opts: VerifyOptions, resume?: ResumeSeed): RunState {
  const s = new RunState(opts);
  if (resume) seedState(s, resume);
  files.forEach((file, i) => verifyFile(s, file, i, i === files.length - 1, i === 0 ? resume : undefined));
  checkTail(s, files);
  return s;
}

function verifyFile(s: RunState, input: InputFile, index: number, last: boolean, resume?: ResumeSeed): void {
  const file = input.path;
  const seg = newSegment(file, input.size, s.tree?.size ?? 0);
  s.segments.push(seg);
  let lineNo = 0;
  let skip = false;
  let fileStart = { size: 0, frontier: [] as Uint8Array[], run: -1 };
  if (resume) {
    lineNo = resume.point.line - 1;
    fileStart = beginResumed(s, resume, seg);
  }
  const { witness, exportSeq } = s.opts;
  const trustedSize = s.opts.trusted?.size;
  const fromSize = s.opts.from?.size;
  const end = readLines(s, input, (buf, start, stop, offset) => {
    if (skip) return true;
    lineNo++;
    // The line's kind and seq as scalars (quickKind, or the parsed record's): an ordinary record's line allocates nothing.
    let kind: string | undefined = quickKind(buf, start, stop);
    let seq = quickSeq;
    if (kind === "record" && lineNo > 1 && seq === s.expectedSeq && witness === undefined && !isRetireLine(buf, stop, seq)) {
      // An ordinary record in order, at a tree size nothing is to be noted at: all the full path below does for it.
      const tree = s.tree!;
      const size = tree.size;
      if (size !== exportSeq && size + 1 !== trustedSize && size + 1 !== fromSize) {
        s.expectedSeq = seq + 1;
        tree.appendLine(buf, start, stop);
        seg.lines = lineNo;
        seg.bytes = offset + (stop - start) + 1;
        seg.first_seq ??= seq;
        seg.last_seq = seq;
        return;
      }
    }
    let good: { key: string; root: string } | undefined; // a checkpoint that became the last good one: a point to resume from
    let rec: EvidenceRecord | undefined;
    let problem: string | undefined;
    if (kind === undefined || lineNo === 1 || kind !== "record" || isRetireLine(buf, stop, seq)) {
      const p = parseLine(buf, start, stop);
      rec = p.rec;
      kind = p.rec?.kind;
      seq = p.rec?.seq ?? 0;
      if (!p.rec) problem = p.problem;
    }
    const head = kind !== undefined;
    if (lineNo === 1) {
      skip = !checkHeader(s, rec, seg, problem);
      if (skip) {
        lineNo = 0; // nothing of this file is checked: it is not counted as read
        return true;
      }
      seg.start_leaf = seg.covered_to = s.tree!.size;
      fileStart = { size: s.tree!.size, frontier: s.tree!.frontier, run: s.runId };
      if (s.run[0] === seg) s.tailFrom = { fileIndex: index, offset, line: 1 };
      checkTrusted(s, file, lineNo);
      checkFrom(s, file, lineNo);
    }
    if (rec?.kind === "retire" && lineNo > 1) noteRetire(s, rec, { file, line: lineNo, leaf: s.tree!.size });
    if (witness && rec) witness.record(rec, { file, line: lineNo });
    else if (witness && head) witness.evidence();
    const tree = s.tree!;
    if (!head) s.findings.add({ severity: "tampered", file, line: lineNo, seq: undefined, message: problem ?? "line is not an evidence record" });
    else if (lineNo > 1 && kind === "segment") s.findings.add({ severity: "tampered", file, line: lineNo, seq, message: "a segment line in the middle of a file: lines from another segment were inserted" });
    if (head && seq !== s.expectedSeq) {
      if (seq > s.expectedSeq) gap(s, { severity: "incomplete", file, line: lineNo, seq, message: `seq jumps from ${s.expectedSeq - 1} to ${seq}: ${seq - s.expectedSeq} line(s) missing before this one` });
      else s.findings.add({ severity: "tampered", file, line: lineNo, seq, message: `seq ${seq} where ${s.expectedSeq} was expected: a line repeated, moved or copied from elsewhere` });
    }
    s.expectedSeq = (head ? seq : s.expectedSeq) + 1;
    if (kind === "checkpoint" && rec) {
      const here = tree.size;
      const before = s.lastGood;
      const verdict = checkCheckpoint(s, rec, { file, line: lineNo, leaf: here, lineOfLeaf: (l) => (l >= seg.start_leaf ? lineNo - (here - l) : undefined) });
      if (verdict.good && verdict.matched) captureCheckpoint(s, verdict, rec, file, lineNo);
      if (verdict.good && verdict.matched) coverRetired(s, here);
      if (s.lastGood !== before) s.tailFrom = { fileIndex: index, offset: offset + (stop - start) + 1, line: lineNo + 1 };
      if (s.lastGood !== before && verdict.good) good = { key: verdict.key.fingerprint, root: (rec.data as { root: string }).root };
    }
    if (exportSeq === tree.size && fileStart.run === s.runId) s.capture.line = { bytes: buf.slice(start, stop), file, lineNo, fileIndex: index, run: s.runId, fileStart };
    tree.appendLine(buf, start, stop);
    if (good) markResumePoint(s, { fileIndex: index, segment: seg.segment ?? -1, offset: offset + (stop - start) + 1, line: lineNo + 1, treeSize: tree.size, frontier: tree.frontier, seq, checkpointSize: tree.size - 1, checkpointRoot: good.root, key: good.key });
    if (trustedSize === tree.size) checkTrusted(s, file, lineNo);
    if (fromSize === tree.size) checkFrom(s, file, lineNo);
    seg.lines = lineNo;
    seg.bytes = offset + (stop - start) + 1;
    if (head) {
      seg.first_seq ??= seq;
      seg.last_seq = seq;
    }
  }, resume?.point.offset ?? 0);
  seg.lines = lineNo;
  seg.end_leaf = s.tree?.size ?? 0;
  if (skip) {
    s.skipped.add(index);
    seg.bytes = 0;
    return;
  }
  s.lastSegment = { number: seg.segment ?? (s.lastSegment?.number ?? 0) + 1, file };
  noteSegmentEnd(s, seg);
  endOfFile(s, seg, end, last && segmentOfName(basename(file)) === undefined);
}

/** A seq gap: raised to tampered by a checkpoint that does not match, or at the end if no good one follows. */
function gap(s: RunState, f: import("./findings.ts").Finding): void {
  s.findings.addTo(s.pendingGaps, f);
}

function endOfFile(s: RunState, seg: SegmentReport, end: ReadEnd, mayBeActive: boolean): void {
  const partial = end.partialLength;
  if (partial > 0 && mayBeActive) {
    seg.in_progress_bytes = partial;
    s.findings.add({ severity: "notice", file: seg.file, line: seg.lines + 1, message: `${partial} bytes of a line still being written (in progress, not checked)` });
  } else if (partial > 0) {
    s.findings.add({ severity: "tampered", file: seg.file, line: seg.lines + 1, message: `the file ends in ${partial} bytes of an incomplete line: cut or damaged` });
  }
  if (seg.lines === 0 && partial === 0 && !end.cut) s.findings.add({ severity: "incomplete", file: seg.file, message: "the file is empty" });
}

function checkTrusted(s: RunState, file: string, line: number): void {
  const t = s.opts.trusted;
  if (!t || s.trustedChecked || !s.tree) return;
  if (s.origin !== t.origin) {
    s.trustedChecked = true;
    s.trustedResult = "not checkable";
    s.findings.add({ severity: "untrusted", file: t.file, message: `the trusted checkpoint is for origin '${t.origin}', the log is '${s.origin}'` });
  } else if (s.tree.size > t.size) {
    s.trustedChecked = true;
    s.trustedResult = "not checkable";
    s.findings.add({ severity: "incomplete", file: t.file, message: `cannot check the trusted checkpoint of tree size ${t.size}: the given segments start at tree size ${s.tree.size}` });
  } else if (s.tree.size === t.size) {
    s.trustedChecked = true;
    s.trustedResult = equalHashes(frontierRoot(s.tree.frontier), t.root) ? "consistent" : "mismatch";
    if (s.trustedResult === "mismatch") {
      s.findings.add({ severity: "tampered", file, line, message: `the log's first ${t.size} lines (up to here) do not have the root of the trusted checkpoint ${t.file}: the log was rewritten after it was taken` });
    }
  }
}

function captureCheckpoint(s: RunState, v: { key: import("./keys.ts").TrustedKey; text: string; signature: Uint8Array }, rec: EvidenceRecord, file: string, lineNo: number): void {
  const want = s.opts.exportSeq;
  const c = rec.data as { tree_size: number; note: string; root: string };
  if (want === undefined || s.capture.checkpoint || s.capture.line?.run !== s.runId || c.tree_size <= want) return;
  s.capture.checkpoint = { text: v.text, note: c.note, signature: v.signature, key: v.key, treeSize: c.tree_size, root: Buffer.from(c.root, "base64"), file, lineNo };
}

function newSegment(file: string, size: number, startLeaf: number): SegmentReport {
  return { file, segment: null, first_seq: null, last_seq: null, lines: 0, bytes: 0, file_bytes: size, checkpoints: { ok: 0, failed: 0 }, lines_signed: 0, lines_unsigned: 0, in_progress_bytes: 0, status: "verified", start_leaf: startLeaf, end_leaf: startLeaf, covered_to: startLeaf };
}
