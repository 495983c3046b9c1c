/**
 * Segments deleted by retention (src/retain): each left a `retire` record in the log before it
 * went, covered by a signed checkpoint. The verifier reads those records as it streams and, at
 * the end, settles every gap in the segments with them: a gap whose every segment a covered
 * retire record names, and whose records chain (each starts where the tree was before it, the
 * last ends at the size and frontier the next file starts from), is retired, not missing, and
 * the tree goes on from the record's frontier (the signed checkpoints after it check that
 * frontier: a forged one fails them). A gap no record explains stays incomplete; a record that
 * does not fit the log is tampering. A segment still present though a record retired it (a
 * crash between the record and the deletion) is verified as usual and compared with its record.
 */
import { createHash } from "node:crypto";
import { openSync, readSync, closeSync } from "node:fs";
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import { parseRetireData, type EvidenceRecord, type ParsedRetire } from "../evidence/index.ts";
import { rotatedName } from "../log/paths.ts";
import { base64, equalHashes, frontierRoot, type Hash } from "../tree/index.ts";
import type { Finding } from "./findings.ts";
import type { SegmentReport } from "./report.ts";
import type { RunState } from "./state.ts";

export interface RetiredReport {
  segment: number;
  /** The last segment of a run carried by a later retire record (several segments in one entry); = segment otherwise. */
  last_segment: number;
  file: string;
  first_seq: number;
  last_seq: number;
  /** Null for a carried run: its records, which said them, were retired with the segment that held them. */
  bytes: number | null;
  sha256: string | null;
  rule: string;
  class: string | null;
  /** Where the retire record (or, for a carried run, the record that carried it) is. */
  record: { file: string; line: number; seq: number };
  /** "retired": the file is gone, as recorded; "present": still there (verified with the rest); "unsigned": no signed checkpoint covers the record. */
  status: "retired" | "present" | "unsigned" | "not checked";
}

/** What one record says of a run of retired segments: its own segment, or a run it carries. */
interface Claim { from: number; to: number; firstSeq: number; startFrontier: Hash[]; treeSize: number; frontier: Hash[]; rule: string; data?: ParsedRetire; file: string; line: number; seq: number; leaf: number; covered: boolean }
interface Gap { from: number; to: number; startSize: number | undefined; startFrontier: Hash[]; endSize: number; endFrontier: Hash[]; file: string; finding?: Finding }
interface State { direct: Map<number, Claim>; byStart: Map<number, Claim[]>; gaps: Gap[]; ends: Map<SegmentReport, { size: number; root: Hash }>; report: RetiredReport[] }

const states = new WeakMap<RunState, State>();
function state(s: RunState): State {
  let st = states.get(s);
  if (!st) states.set(s, (st = { direct: new Map(), byStart: new Map(), gaps: [], ends: new Map(), report: [] }));
  return st;
}

const KIND = new TextEncoder().encode(',"kind":"retire","seq":');
/**
 * True for a line of kind retire (which the fast path does not parse): `…,"kind":"retire","seq":<seq>,"ts":"<24>","v":1}`.
 * It runs for every line: no allocation, and the bytes that tell kinds apart are compared first.
 */
export function isRetireLine(buf: Uint8Array, stop: number, seq: number): boolean {
  // `…retire","seq":<digits>,"ts":"<24 bytes>","v":1}`: the kind's last byte sits 39 + digits + 9 bytes before the end.
  const e = stop - 48 - digitsOf(seq);
  if (e < KIND.length || buf[e] !== 0x65 /* e */ || buf[e - 5] !== 0x72 /* r */) return false;
  for (let i = 0; i < KIND.length; i++) if (buf[e - 14 + i] !== KIND[i]) return false;
  return true;
}

function digitsOf(n: number): number {
  if (n < 1e8) return n < 1e4 ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : 4) : n < 1e6 ? (n < 1e5 ? 5 : 6) : n < 1e7 ? 7 : 8;
  let d = 9;
  for (let p = 1e9; p <= n; p *= 10) d++;
  return d;
}

/** A retire line, parsed in full: kept until the end, when gaps are settled. */
export function noteRetire(s: RunState, rec: EvidenceRecord, where: { file: string; line: number; leaf: number }): void {
  let data: ParsedRetire;
  try {
    data = parseRetireData(rec.data);
  } catch (e) {
    if (!(e instanceof AtoError && e.code === "CORRUPT")) throw e;
    s.findings.add({ severity: "tampered", file: where.file, line: where.line, seq: rec.seq, message: `retire record is malformed: ${e.message}` });
    return;
  }
  const st = state(s);
  const seen = st.direct.get(data.segment);
  if (seen && (seen.data!.sha256 !== data.sha256 || seen.data!.tree_size !== data.tree_size || seen.data!.first_seq !== data.first_seq)) {
    s.findings.add({ severity: "tampered", file: where.file, line: where.line, seq: rec.seq, message: `a second retire record for segment ${data.segment} says other things than the one at seq ${seen.seq}` });
    return;
  }
  if (seen) return;
  const at = { file: where.file, line: where.line, seq: rec.seq, leaf: where.leaf, covered: false };
  const own: Claim = { from: data.segment, to: data.segment, firstSeq: data.first_seq, startFrontier: data.startFrontierHashes, treeSize: data.tree_size, frontier: data.frontierHashes, rule: data.rule, data, ...at };
  st.direct.set(data.segment, own);
  for (const c of [own, ...data.carried.map((r): Claim => ({ from: r.from, to: r.to, firstSeq: r.first_seq, startFrontier: r.startFrontierHashes, treeSize: r.tree_size, frontier: r.frontierHashes, rule: r.rules.join(", "), ...at }))]) {
    const list = st.byStart.get(c.from) ?? [];
    list.push(c);
    st.byStart.set(c.from, list);
  }
}

/** A signed checkpoint matched at tree size `size`: the retire records before it are covered. */
export function coverRetired(s: RunState, size: number): void {
  const st = states.get(s);
  if (st) for (const list of st.byStart.values()) for (const c of list) if (c.leaf < size) c.covered = true;
}

/** Segments `from`…`to` are missing before `file` (or before the first file, from segment 1). */
export function noteGap(s: RunState, g: Gap): void {
  state(s).gaps.push({ ...g, startFrontier: g.startFrontier.slice() });
}

/** The end of a file the verifier read: its tree size and root, to compare with a record that retired it. */
export function noteSegmentEnd(s: RunState, seg: SegmentReport): void {
  if (s.tree && seg.segment !== null) state(s).ends.set(seg, { size: s.tree.size, root: frontierRoot(s.tree.frontier) });
}

/** Settles the gaps with the records (call once, before the verdict). Returns whether the first gap (the log's start) is retired. */
export function settleRetired(s: RunState): { startRetired: boolean } {
  const st = states.get(s);
  if (!st) return { startRetired: false };
  const used = new Set<number>();
  let startRetired = false;
  let allExplained = true;
  for (const g of st.gaps) {
    const ok = settleGap(s, st, g, used);
    if (g.startSize === undefined) startRetired = ok;
    else allExplained &&= ok;
  }
  for (const [seg, end] of st.ends) {
    const c = st.direct.get(seg.segment!);
    if (c) presentButRetired(s, st, seg, end, c);
    if (c) used.add(c.from);
  }
  for (const c of st.direct.values()) if (!used.has(c.from)) st.report.push(entry(c, "not checked"));
  st.report.sort((a, b) => a.segment - b.segment);
  // The chain broke only where segments were retired, and every such break is explained: the tree size is known.
  if (st.gaps.some((g) => g.startSize !== undefined) && allExplained && s.findings.counts.tampered === 0) s.reanchored = false;
  return { startRetired };
}

export function retiredReport(s: RunState): RetiredReport[] {
  return states.get(s)?.report ?? [];
}

function settleGap(s: RunState, st: State, g: Gap, used: Set<number>): boolean {
  const claims: Claim[] = [];
  for (let n = g.from; n <= g.to; ) {
    // The longest run recorded from here that stays inside the gap (a carried run, or the segment's own record).
    const c = (st.byStart.get(n) ?? []).filter((x) => x.to <= g.to).sort((x, y) => y.to - x.to || Number(y.covered) - Number(x.covered))[0];
    if (!c) return explainNot(g, n === g.from && g.to === g.from ? "no retire record names it" : `no retire record names segment ${n}`);
    claims.push(c);
    n = c.to + 1;
  }
  const unsigned = claims.find((c) => !c.covered);
  if (unsigned) {
    claims.forEach((c) => { used.add(c.from); st.report.push(entry(c, c.covered ? "retired" : "unsigned")); });
    return explainNot(g, `the retire record for segment ${unsigned.from} (seq ${unsigned.seq}) is not covered by a signed checkpoint`);
  }
  let size = g.startSize ?? 0;
  let frontier: Hash[] = g.startSize === undefined ? [] : g.startFrontier;
  for (const c of claims) {
    const why = c.data && c.data.file !== rotatedName(c.from) ? `it names the file ${c.data.file}, not ${rotatedName(c.from)}`
      : c.firstSeq !== size || !sameHashes(c.startFrontier, frontier) ? `it says segment ${c.from} started at tree size ${c.firstSeq}, the log before it reaches ${size}${c.firstSeq === size ? " with another frontier" : ""}`
      : undefined;
    if (why) return tampered(s, c, why);
    size = c.treeSize;
    frontier = c.frontier;
  }
  const last = claims.at(-1)!;
  if (size !== g.endSize || !sameHashes(frontier, g.endFrontier)) return tampered(s, last, `it says segment ${last.to} ended at tree size ${size}, but ${basename(g.file)} starts at ${g.endSize}${size === g.endSize ? " with another frontier" : ""}`);
  for (const c of claims) {
    used.add(c.from);
    st.report.push(entry(c, "retired"));
  }
  const names = claims.map((c) => `${c.from === c.to ? rotatedName(c.from) : `${rotatedName(c.from)}…${rotatedName(c.to)}`} (seq ${c.firstSeq}–${c.treeSize - 1}, ${c.rule})`).join(", ");
  const message = `segment${g.to > g.from ? `s ${g.from}–${g.to} were` : ` ${g.from} was`} retired by retention, not lost: ${names}, each recorded before its deletion (retire record at seq ${claims.map((c) => c.seq).join(", ")}, covered by a signed checkpoint); the tree continues from the recorded frontier`;
  if (g.finding) {
    g.finding.message = message;
    s.findings.settle(g.finding, "notice");
  } else {
    s.findings.add({ severity: "notice", file: g.file, line: 1, message });
  }
  return true;
}

function explainNot(g: Gap, why: string): false {
  if (g.finding) g.finding.message += ` (${why})`;
  return false;
}

function tampered(s: RunState, c: Claim, why: string): false {
  s.findings.add({ severity: "tampered", file: c.file, line: c.line, seq: c.seq, message: `retire record does not fit the log: ${why}` });
  return false;
}

function presentButRetired(s: RunState, st: State, seg: SegmentReport, end: { size: number; root: Hash }, c: Claim): void {
  const d = c.data!;
  const sha = sha256File(seg.file);
  if (sha === undefined) return void st.report.push(entry(c, "not checked")); // a file given as a forwarded export, gone once read
  const why = seg.first_seq !== d.first_seq || seg.last_seq !== d.last_seq ? `it says seq ${d.first_seq}–${d.last_seq}, the file holds ${seg.first_seq}–${seg.last_seq}`
    : seg.file_bytes !== d.bytes || sha !== d.sha256 ? `it says ${d.bytes} bytes with SHA-256 ${d.sha256}, the file has ${seg.file_bytes} bytes with SHA-256 ${sha}`
    : end.size !== d.tree_size || !equalHashes(end.root, frontierRoot(d.frontierHashes)) ? `its frontier does not give the root the file ends at (${base64(end.root)})`
    : undefined;
  if (why) {
    tampered(s, c, `${why} (${basename(seg.file)})`);
    st.report.push(entry(c, "present"));
    return;
  }
  s.findings.add({ severity: "notice", file: seg.file, message: `retired by the retire record at seq ${c.seq} (${d.rule}) but still present here (a crash between the record and the deletion, or a copy kept elsewhere, such as a collector's): verified as usual, and it is the file the record describes` });
  st.report.push(entry(c, c.covered ? "present" : "unsigned"));
}

function entry(c: Claim, status: RetiredReport["status"]): RetiredReport {
  const d = c.data;
  const file = c.from === c.to ? rotatedName(c.from) : `${rotatedName(c.from)}…${rotatedName(c.to)}`;
  return { segment: c.from, last_segment: c.to, file: d?.file ?? file, first_seq: c.firstSeq, last_seq: c.treeSize - 1, bytes: d?.bytes ?? null, sha256: d?.sha256 ?? null, rule: c.rule, class: d?.class ?? null, record: { file: c.file, line: c.line, seq: c.seq }, status };
}

function sameHashes(a: readonly Hash[], b: readonly Hash[]): boolean {
  return a.length === b.length && a.every((x, i) => equalHashes(x, b[i]!));
}

function sha256File(path: string): string | undefined {
  const h = createHash("sha256");
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
