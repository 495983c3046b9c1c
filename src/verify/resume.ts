/**
 * Incremental verification of an audit directory that only grows (a collector's rebuilt log):
 * the one verifier, started where the last pass left off. After each pass that found nothing,
 * the point just after its last good checkpoint (tree size and frontier, seq, key, segment,
 * byte offset) is saved durably; the next pass reads on from there, so its cost is the new
 * lines plus the unsigned tail, not the directory.
 *
 * Nothing before the point is trusted blindly. The segment holding the point must still have
 * exactly the bytes it had up to the point (SHA-256 of that prefix, so one segment is read
 * again at most: bounded by rotation, never the whole log), and every earlier segment must be
 * the same file, unchanged since it was verified (device and inode, size, ctime: any write
 * through the file system moves ctime). A state that is missing, unreadable or does not match
 * the files gives a full pass instead, and a mismatch is reported as a finding.
 */
import { fstatSync, readSync, type BigIntStats } from "node:fs";
import { basename } from "node:path";
import { finish } from "./finish.ts";
import { openInputs, type InputFile } from "./inputs.ts";
import { loadKeys, type TrustedKey } from "./keys.ts";
import type { VerifyReport } from "./report.ts";
import { resumePointOf, type ResumeSeed } from "./resume-seed.ts";
import { readResumeState, removeResumeState, saveResumeState, type FileMark, type ResumeState } from "./resume-state.ts";
import { verifyFiles } from "./verifier.ts";

export interface ResumableRequest {
  /** The audit directory. */
  dir: string;
  pubkeys: string[];
  /** Where this directory's verified state is kept (a file of the caller's own state directory). */
  statePath: string;
}

export interface ResumableResult {
  report: VerifyReport;
  mode: "full" | "incremental";
  /** Why a saved state was not used (the files changed under it, or it could not be read). */
  mismatch?: string;
  /** Log bytes this pass read: what came after the point (plus the prefix it checked). */
  bytesRead: number;
}

export function verifyResumable(req: ResumableRequest): ResumableResult {
  const keys = loadKeys(req.pubkeys);
  const inputs = openInputs([req.dir]);
  try {
    const stats = inputs.files.map((f) => fstatSync(f.fd, { bigint: true }));
    const saved = readResumeState(req.statePath);
    let mismatch = saved?.problem;
    let start: Start | undefined;
    if (saved?.state) {
      const m = matchState(saved.state, inputs.files, stats, keys);
      if (typeof m === "string") mismatch = m;
      else start = m;
    }
    const base = start?.index ?? 0;
    const files = inputs.files.slice(base);
    const s = verifyFiles(files, { keys }, start?.seed);
    const clean = !s.reanchored && s.findings.list.every((f) => f.severity === "notice" && f.message.includes("still being written")) && s.findings.worst === "verified";
    if (mismatch) s.findings.add({ severity: "notice", file: req.statePath, message: `the saved verified state does not match the files (${mismatch}): verified again from the first line` });
    const report = finish(s, inputs.missingActive, inputs.aliases);
    let bytesRead = (start?.prefixBytes ?? 0) + s.segments.reduce((a, x) => a + x.bytes, 0) - (start?.seed.point.offset ?? 0);
    const point = resumePointOf(s);
    if (clean && report.result === "verified" && point && s.origin && s.logId) {
      const index = base + point.fileIndex;
      const f = inputs.files[index]!;
      const hasher = start && index === start.index ? start.hasher : new Bun.CryptoHasher("sha256");
      const from = start && index === start.index ? start.seed.point.offset : 0;
      bytesRead += hashRange(f, hasher, from, point.offset);
      const earlier = inputs.files.slice(0, index).map((x, i) => markOf(x, stats[i]!));
      saveResumeState(req.statePath, {
        v: 1, origin: s.origin, log_id: s.logId, key: point.key, tree_size: point.treeSize, frontier: point.frontier.map((h) => Buffer.from(h).toString("base64")),
        last_seq: point.seq, checkpoint_tree_size: point.checkpointSize, checkpoint_root: point.checkpointRoot, segment: point.segment, offset: point.offset, line: point.line,
        prefix_sha256: hasher.digest("hex"), earlier,
      });
    } else if (mismatch && saved) removeResumeState(req.statePath);
    return { report, mode: start ? "incremental" : "full", mismatch, bytesRead };
  } finally {
    inputs.close();
  }
}

interface Start {
  index: number;
  seed: ResumeSeed;
  /** SHA-256 of the point's file up to the point, to go on with when the next point is in the same file. */
  hasher: Bun.CryptoHasher;
  prefixBytes: number;
}

/** The point where the files still are what was verified, or why not. */
function matchState(st: ResumeState, files: InputFile[], stats: BigIntStats[], keys: TrustedKey[]): Start | string {
  if (!keys.some((k) => k.fingerprint === st.key)) return "the key that signed its last checkpoint is not among the given keys";
  const index = files.findIndex((f) => f.order === st.segment);
  if (index < 0) return `segment ${st.segment}, where it stopped, is not in the directory`;
  if (index !== st.earlier.length) return `${st.earlier.length} segment file(s) came before segment ${st.segment}, now ${index} do`;
  for (let i = 0; i < index; i++) {
    const was = st.earlier[i]!;
    const now = markOf(files[i]!, stats[i]!);
    if (was.segment !== now.segment || was.id !== now.id) return `segment ${was.segment} (${was.name}) is another file now`;
    if (was.size !== now.size || was.ctime_ns !== now.ctime_ns) return `segment ${was.segment} (${now.name}) was written to since it was verified (size ${was.size} → ${now.size})`;
  }
  const f = files[index]!;
  if (f.size < st.offset) return `segment ${st.segment} (${basename(f.path)}) is shorter than where verification stopped (${f.size} < ${st.offset} bytes)`;
  const hasher = new Bun.CryptoHasher("sha256");
  const prefixBytes = hashRange(f, hasher, 0, st.offset);
  if (hasher.copy().digest("hex") !== st.prefix_sha256) return `the first ${st.offset} bytes of segment ${st.segment} (${basename(f.path)}) changed since they were verified`;
  const point = { segment: st.segment, offset: st.offset, line: st.line, treeSize: st.tree_size, frontier: st.frontier.map((h) => new Uint8Array(Buffer.from(h, "base64"))), seq: st.last_seq, checkpointSize: st.checkpoint_tree_size, checkpointRoot: st.checkpoint_root, key: st.key };
  return { index, seed: { origin: st.origin, logId: st.log_id, point, file: f.path }, hasher, prefixBytes };
}

function markOf(f: InputFile, st: BigIntStats): FileMark {
  return { segment: f.order, name: basename(f.path), id: `${st.dev}:${st.ino}`, size: Number(st.size), ctime_ns: String(st.ctimeNs) };
}

/** Feeds bytes [from, to) of the file to the hasher; returns how many were read. */
function hashRange(f: InputFile, hasher: Bun.CryptoHasher, from: number, to: number): number {
  const buf = new Uint8Array(Math.min(1 << 20, Math.max(1, to - from)));
  let pos = from;
  while (pos < to) {
    const n = readSync(f.fd, buf, 0, Math.min(buf.length, to - pos), pos);
    if (n === 0) break;
    hasher.update(buf.subarray(0, n));
    pos += n;
  }
  return pos - from;
}
