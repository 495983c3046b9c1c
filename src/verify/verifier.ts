/**
 * `ato verify`'s engine: one pass over the segment files in log order, line by line. Each
 * line is hashed as a leaf into the running frontier, its seq checked, and each checkpoint
 * compared with the tree it signs (checkpoint.ts). Memory is the frontier plus a report per
 * file, whatever the size of the log.
 */
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import { parseRecord, type EvidenceRecord } from "../evidence/index.ts";
import { forEachLine, leafHashInPlace } from "../log/lines.ts";
import { segmentOfName } from "../log/paths.ts";
import { appendLeaf, equalHashes, frontierRoot } from "../tree/index.ts";
import { checkCheckpoint } from "./checkpoint.ts";
import { checkHeader } from "./header.ts";
import type { InputFile } from "./inputs.ts";
import { quickHead } from "./quick.ts";
import type { SegmentReport } from "./report.ts";
import { RunState, type VerifyOptions } from "./state.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

export function verifyFiles(files: InputFile[], opts: VerifyOptions): RunState {
  const s = new RunState(opts);
  files.forEach((file, i) => verifyFile(s, file, i, i === files.length - 1));
  return s;
}

function verifyFile(s: RunState, input: InputFile, index: number, last: boolean): void {
  const file = input.path;
  const seg = newSegment(file, input.size, s.tree?.size ?? 0);
  s.segments.push(seg);
  let lineNo = 0;
  let skip = false;
  let fileStart = { size: 0, frontier: [] as Uint8Array[], run: -1 };
  const end = readLines(s, input, (buf, start, stop) => {
    lineNo++;
    if (skip) return;
    const leaf = leafHashInPlace(buf, start, stop);
    let head: { seq: number; kind: string } | undefined = quickHead(buf, start, stop);
    let rec: EvidenceRecord | undefined;
    if (!head || lineNo === 1 || head.kind === "checkpoint" || head.kind === "segment") {
      rec = parseLine(buf.subarray(start, stop));
      head = rec;
    }
    if (lineNo === 1) {
      skip = !checkHeader(s, rec, seg);
      if (skip) return;
      seg.start_leaf = seg.covered_to = s.tree!.size;
      fileStart = { size: s.tree!.size, frontier: s.tree!.frontier, run: s.runId };
      checkTrusted(s, file, lineNo);
    }
    const tree = s.tree!;
    const f = (severity: "tampered" | "incomplete", message: string) => s.findings.add({ severity, file, line: lineNo, seq: head?.seq, message });
    if (!head) f("tampered", "line is not an evidence record (not JSON, or its envelope is malformed)");
    else if (lineNo > 1 && head.kind === "segment") f("tampered", "a segment line in the middle of a file: lines from another segment were inserted");
    if (head && head.seq !== s.expectedSeq) {
      if (head.seq > s.expectedSeq) s.pendingGaps.push(f("incomplete", `seq jumps from ${s.expectedSeq - 1} to ${head.seq}: ${head.seq - s.expectedSeq} line(s) missing before this one`));
      else f("tampered", `seq ${head.seq} where ${s.expectedSeq} was expected: a line repeated, moved or copied from elsewhere`);
    }
    s.expectedSeq = (head?.seq ?? s.expectedSeq) + 1;
    if (head?.kind === "checkpoint" && rec) {
      const here = tree.size;
      const verdict = checkCheckpoint(s, rec, { file, line: lineNo, leaf: here, lineOfLeaf: (l) => (l >= seg.start_leaf ? lineNo - (here - l) : undefined) });
      if (verdict.good && verdict.matched) captureCheckpoint(s, verdict, rec, file, lineNo);
    }
    if (s.opts.exportSeq === tree.size && fileStart.run === s.runId) s.capture.line = { bytes: buf.slice(start, stop), file, lineNo, fileIndex: index, run: s.runId, fileStart };
    tree.frontier = appendLeaf(tree.frontier, tree.size++, leaf);
    if (s.opts.trusted?.size === tree.size) checkTrusted(s, file, lineNo);
    seg.lines = lineNo;
    seg.first_seq ??= head?.seq ?? null;
    seg.last_seq = head?.seq ?? seg.last_seq;
  });
  seg.lines = lineNo;
  seg.end_leaf = s.tree?.size ?? 0;
  if (!skip) s.lastSegment = { number: seg.segment ?? (s.lastSegment?.number ?? 0) + 1, file };
  endOfFile(s, seg, end.partialLength, last && segmentOfName(basename(file)) === undefined);
}

/** forEachLine, with a file that is not a log at all (a line over 64 MiB) reported, not thrown. */
function readLines(s: RunState, input: InputFile, onLine: Parameters<typeof forEachLine>[2]): { partialLength: number } {
  try {
    return forEachLine(input.fd, input.size, onLine);
  } catch (e) {
    if (!(e instanceof AtoError) || e.code !== "CORRUPT") throw e;
    s.findings.add({ severity: "tampered", file: input.path, message: `${e.message}; the rest of the file was not read` });
    return { partialLength: 0 };
  }
}

function endOfFile(s: RunState, seg: SegmentReport, partial: number, mayBeActive: boolean): void {
  if (partial > 0 && mayBeActive) {
    seg.in_progress_bytes = partial;
    s.findings.add({ severity: "notice", file: seg.file, line: seg.lines + 1, message: `${partial} bytes of a line still being written (in progress, not checked)` });
  } else if (partial > 0) {
    s.findings.add({ severity: "tampered", file: seg.file, line: seg.lines + 1, message: `the file ends in ${partial} bytes of an incomplete line: cut or damaged` });
  }
  if (seg.lines === 0 && partial === 0) s.findings.add({ severity: "incomplete", file: seg.file, message: "the file is empty" });
}

function checkTrusted(s: RunState, file: string, line: number): void {
  const t = s.opts.trusted;
  if (!t || s.trustedChecked || !s.tree) return;
  if (s.origin !== t.origin) {
    s.trustedChecked = true;
    s.findings.add({ severity: "untrusted", file: t.file, message: `the trusted checkpoint is for origin '${t.origin}', the log is '${s.origin}'` });
  } else if (s.tree.size > t.size) {
    s.trustedChecked = true;
    s.findings.add({ severity: "incomplete", file: t.file, message: `cannot check the trusted checkpoint of tree size ${t.size}: the given segments start at tree size ${s.tree.size}` });
  } else if (s.tree.size === t.size) {
    s.trustedChecked = true;
    if (!equalHashes(frontierRoot(s.tree.frontier), t.root)) {
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

function parseLine(bytes: Uint8Array): EvidenceRecord | undefined {
  try {
    return parseRecord(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

function newSegment(file: string, bytes: number, startLeaf: number): SegmentReport {
  return { file, segment: null, first_seq: null, last_seq: null, lines: 0, bytes, checkpoints: { ok: 0, failed: 0 }, lines_signed: 0, lines_unsigned: 0, in_progress_bytes: 0, status: "verified", start_leaf: startLeaf, end_leaf: startLeaf, covered_to: startLeaf };
}
