/**
 * The saved state of an incremental verification (resume.ts), one small JSON file per audit
 * directory, replaced durably (src/log/durable.ts: temp file, fsync, rename, fsync of the
 * directory), so after a crash it is the old state or the new one, whole. A file that cannot be
 * read as one is not an error: the next pass is a full one and says why.
 */
import { readFileSync, rmSync } from "node:fs";
import { replaceFileSync } from "../log/durable.ts";
import { fitsSize } from "../tree/index.ts";

/** An earlier segment file as it was when verified: the same file (device:inode), unchanged (size, ctime). */
export interface FileMark {
  segment: number;
  name: string;
  id: string;
  size: number;
  ctime_ns: string;
}

export interface ResumeState {
  v: 1;
  origin: string;
  log_id: string;
  /** SPKI SHA-256 of the key that signed the last verified checkpoint. */
  key: string;
  /** The tree once the checkpoint line is a leaf: its size and frontier (base64). */
  tree_size: number;
  frontier: string[];
  /** Seq of the checkpoint line, and the tree size and root (base64) it signs. */
  last_seq: number;
  checkpoint_tree_size: number;
  checkpoint_root: string;
  /** The segment holding the checkpoint, the byte offset just past it, the number of the line after it. */
  segment: number;
  offset: number;
  line: number;
  /** SHA-256 of that segment file's bytes [0, offset). */
  prefix_sha256: string;
  earlier: FileMark[];
}

export function readResumeState(path: string): { state?: ResumeState; problem?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return { problem: `cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  let st: ResumeState;
  try {
    st = JSON.parse(text);
  } catch {
    return { problem: "it is not JSON" };
  }
  return wellFormed(st) ? { state: st } : { problem: "it is not a verified state of this version" };
}

export function saveResumeState(path: string, st: ResumeState): void {
  replaceFileSync(path, JSON.stringify(st) + "\n", { what: "the verified state" });
}

export function removeResumeState(path: string): void {
  rmSync(path, { force: true });
}

const int = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

function wellFormed(st: ResumeState): boolean {
  if (st?.v !== 1 || typeof st.origin !== "string" || typeof st.log_id !== "string" || typeof st.key !== "string" || typeof st.prefix_sha256 !== "string" || typeof st.checkpoint_root !== "string") return false;
  if (![st.tree_size, st.last_seq, st.checkpoint_tree_size, st.segment, st.offset, st.line].every(int) || st.line < 2) return false;
  if (!Array.isArray(st.frontier) || !st.frontier.every((h) => typeof h === "string" && Buffer.from(h, "base64").length === 32)) return false;
  if (!fitsSize(st.frontier.map((h) => new Uint8Array(Buffer.from(h, "base64"))), st.tree_size)) return false;
  return Array.isArray(st.earlier) && st.earlier.every((m) => int(m?.segment) && typeof m.name === "string" && typeof m.id === "string" && int(m.size) && typeof m.ctime_ns === "string");
}
