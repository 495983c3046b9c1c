/**
 * Reads one rotated segment for retention, without blocking the caller's event loop (each 128 KiB
 * read is awaited, then the event loop is let run): its size and SHA-256, its first and last seq, the tree's frontier at its end
 * (from the segment line's frontier and every line's leaf), the newest record of each class, and
 * the lines retention needs to know (retire records, witness cosignatures, signed checkpoints).
 * Rotated segments do not change, so a summary is kept per file (name, inode, size).
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import { parseCosignatureData, parseRetireData, parseSegmentData, type CosignatureData, type ParsedRetire } from "../evidence/index.ts";
import { hashChildren, hashLeaf, type Hash } from "../tree/index.ts";

export interface SegmentSummary {
  path: string;
  file: string;
  segment: number;
  logId: string;
  origin: string;
  bytes: number;
  sha256: string;
  firstSeq: number;
  lastSeq: number;
  /** Tree size at the end (lastSeq + 1) and its frontier. */
  treeSize: number;
  frontier: Hash[];
  /** The frontier its segment line records (tree size firstSeq). */
  startFrontier: Hash[];
  /** Newest `ts` of each class. */
  classes: Map<string, string>;
  retires: { seq: number; data: ParsedRetire }[];
  cosignatures: { seq: number; data: CosignatureData }[];
  /** The largest tree size a checkpoint with signature_status "ok" in this file signs (0: none). */
  signedTo: number;
  /** Lines that could not be read as records (the verifier judges them; retention keeps such a file). */
  problems: number;
  key: string;
}

const NL = 0x0a;
/** Bytes read (and lines hashed) between two yields to the event loop: about a millisecond of work. */
const CHUNK = 128 << 10;
const dec = new TextDecoder();
const FULL = new Set(["segment", "checkpoint", "retire", "cosignature"]);

export async function fileKey(path: string): Promise<string> {
  const st = await stat(path);
  return `${st.dev}:${st.ino}:${st.size}`;
}

export async function scanSegmentFile(path: string): Promise<SegmentSummary> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new AtoError(`retention: cannot read ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
  try {
    const st = await fh.stat();
    const s: SegmentSummary = { path, file: basename(path), segment: 0, logId: "", origin: "", bytes: st.size, sha256: "", firstSeq: -1, lastSeq: -1, treeSize: 0, frontier: [], startFrontier: [], classes: new Map(), retires: [], cosignatures: [], signedTo: 0, problems: 0, key: `${st.dev}:${st.ino}:${st.size}` };
    const sha = createHash("sha256");
    let carry: Buffer = Buffer.alloc(0);
    const chunk = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < st.size; ) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, st.size - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const got = chunk.subarray(0, bytesRead);
      sha.update(got);
      const buf = carry.length ? Buffer.concat([carry, got]) : got;
      let start = 0;
      for (let nl = buf.indexOf(NL); nl !== -1; nl = buf.indexOf(NL, start)) {
        line(s, buf.subarray(start, nl));
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
      await yieldToLoop(); // a read from the page cache can resolve at once: let timers and I/O of the agent run between chunks
    }
    if (carry.length) s.problems++; // a torn last line: the file is not a whole rotated segment
    s.sha256 = sha.digest("hex");
    if (s.segment === 0) throw new AtoError(`retention: ${path} does not start with a segment line`, "CORRUPT");
    return s;
  } finally {
    await fh.close();
  }
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function line(s: SegmentSummary, bytes: Buffer): void {
  const text = dec.decode(bytes);
  const head = envelope(text);
  if (!head) {
    s.problems++;
    return;
  }
  if (s.firstSeq < 0) {
    const rec = JSON.parse(text);
    if (head.kind !== "segment") throw new AtoError(`retention: ${s.path} does not start with a segment line`, "CORRUPT");
    const h = parseSegmentData(rec.data);
    Object.assign(s, { segment: h.segment, logId: h.log_id, origin: h.origin, firstSeq: head.seq, treeSize: h.tree_size, frontier: h.frontierHashes.slice(), startFrontier: h.frontierHashes });
  } else if (FULL.has(head.kind)) full(s, head, text);
  if (head.seq !== s.treeSize) s.problems++;
  appendLeaf(s, hashLeaf(bytes));
  s.lastSeq = head.seq;
  const newest = s.classes.get(head.cls);
  if (!newest || head.ts > newest) s.classes.set(head.cls, head.ts);
}

function full(s: SegmentSummary, head: Head, text: string): void {
  try {
    const d = JSON.parse(text).data;
    if (head.kind === "retire") s.retires.push({ seq: head.seq, data: parseRetireData(d) });
    else if (head.kind === "cosignature") s.cosignatures.push({ seq: head.seq, data: parseCosignatureData(d) });
    else if (head.kind === "checkpoint" && d.signature_status === "ok" && Number.isSafeInteger(d.tree_size)) s.signedTo = Math.max(s.signedTo, d.tree_size);
  } catch (e) {
    if (!(e instanceof SyntaxError || (e instanceof AtoError && e.code === "CORRUPT"))) throw e;
    s.problems++;
  }
}

interface Head { cls: string; kind: string; seq: number; ts: string }

/** The envelope of a canonical line (class first; kind, seq, ts, v last), read without parsing the data. */
function envelope(t: string): Head | undefined {
  const m = /^\{"class":"([a-z][a-z0-9_-]{0,31})",/.exec(t);
  const tail = /,"kind":"([a-z][a-z0-9_]{0,31})","seq":(\d{1,16}),"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)","v":1\}$/.exec(t.slice(-120));
  return m && tail ? { cls: m[1]!, kind: tail[1]!, seq: Number(tail[2]), ts: tail[3]! } : undefined;
}

function appendLeaf(s: SegmentSummary, leaf: Hash): void {
  let node = leaf;
  for (let n = s.treeSize; n % 2 === 1; n = (n - 1) / 2) node = hashChildren(s.frontier.pop()!, node);
  s.frontier.push(node);
  s.treeSize++;
}
