/**
 * The `data` of a "retire" line: a rotated segment is about to be deleted by a retention rule.
 * It is written, and covered by a signed checkpoint, before the file goes, so what remains of
 * the log says what left it and why: the file (name, size, SHA-256), the lines it held (first
 * and last seq), where the tree stood at its end (size and frontier, so a verifier continues
 * the tree without the file), the rule and class that applied, and what allowed the deletion
 * (the forwarding sinks' cursors, the witness cosignature).
 */
import { fitsSize, hashFromBase64, type Hash } from "../tree/index.ts";
import { AtoError } from "../errors.ts";
import { corrupt, isCount } from "./checkpoint.ts";

export interface RetireData {
  segment: number;
  file: string;
  bytes: number;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  first_seq: number;
  last_seq: number;
  /** The tree size at the segment's end (last_seq + 1) and that tree's frontier (base64, largest subtree first). */
  tree_size: number;
  frontier: string[];
  /** The frontier at its start (of tree size first_seq, as its segment line records it): what the segments before it must reach. */
  start_frontier: string[];
  /** The rule that governed ("restricted=365d"): the longest retention of the classes in the segment. */
  rule: string;
  class: string;
  /** The newest record of that class in the segment, and when its retention ended. */
  newest: string;
  expired: string;
  /** Each class in the segment with its newest record's time. */
  classes: Record<string, string>;
  /** The cursors of the forwarding sinks that had acknowledged past the segment (null: not required). */
  sinks: { name: string; seq: number; segment: number }[] | null;
  /** The cosignature that covers the segment's last line (null: not required). */
  witness: { witness: string; key_id: string; tree_size: number; checkpoint_seq: number; cosignature_seq: number } | null;
  /**
   * Segments retired earlier whose retire records are in this segment (and those they carried), merged
   * into runs of consecutive segments: the records go with this file, so what they said goes on here.
   */
  carried: RetiredRun[];
}

/** Segments `from`…`to`, retired: the tree before `from` (size first_seq, start_frontier) and after `to` (tree_size, frontier). */
export interface RetiredRun {
  from: number;
  to: number;
  first_seq: number;
  start_frontier: string[];
  tree_size: number;
  frontier: string[];
  rules: string[];
}

export interface ParsedRun extends RetiredRun {
  frontierHashes: Hash[];
  startFrontierHashes: Hash[];
}

export interface ParsedRetire extends Omit<RetireData, "carried"> {
  frontierHashes: Hash[];
  startFrontierHashes: Hash[];
  carried: ParsedRun[];
}

/** Most runs one retire record carries: past this, the segment holding the records is kept. */
export const MAX_CARRIED_RUNS = 1000;

const FILE = /^signed_evidence\.\d{6,}\.log$/;
const HEX = /^[0-9a-f]{64}$/;

export function parseRetireData(d: Record<string, unknown>): ParsedRetire {
  for (const k of ["segment", "bytes", "first_seq", "last_seq", "tree_size"]) if (!isCount(d[k])) throw corrupt(k, d[k]);
  if (typeof d.file !== "string" || !FILE.test(d.file)) throw corrupt("file", d.file);
  if (typeof d.sha256 !== "string" || !HEX.test(d.sha256)) throw corrupt("sha256", d.sha256);
  for (const k of ["rule", "class", "newest", "expired"]) if (typeof d[k] !== "string") throw corrupt(k, d[k]);
  if (!Array.isArray(d.frontier)) throw corrupt("frontier", d.frontier);
  if (!Array.isArray(d.start_frontier)) throw corrupt("start_frontier", d.start_frontier);
  if (d.classes === null || typeof d.classes !== "object") throw corrupt("classes", d.classes);
  const r = d as unknown as RetireData;
  if (r.segment < 1 || r.last_seq < r.first_seq || r.tree_size !== r.last_seq + 1) throw new AtoError(`segment ${r.segment}, seq ${r.first_seq}–${r.last_seq} and tree size ${r.tree_size} do not fit together`, "CORRUPT");
  const frontierHashes = r.frontier.map((f) => hashFromBase64(f, "frontier hash"));
  if (!fitsSize(frontierHashes, r.tree_size)) throw new AtoError(`its frontier (${frontierHashes.length} hashes) does not fit tree size ${r.tree_size}`, "CORRUPT");
  const startFrontierHashes = r.start_frontier.map((f) => hashFromBase64(f, "start frontier hash"));
  if (!fitsSize(startFrontierHashes, r.first_seq)) throw new AtoError(`its start frontier (${startFrontierHashes.length} hashes) does not fit tree size ${r.first_seq}`, "CORRUPT");
  if (!Array.isArray(d.carried) || d.carried.length > MAX_CARRIED_RUNS) throw corrupt("carried", d.carried);
  return { ...r, frontierHashes, startFrontierHashes, carried: (d.carried as Record<string, unknown>[]).map(parseRun) };
}

function parseRun(d: Record<string, unknown>): ParsedRun {
  if (d === null || typeof d !== "object") throw corrupt("carried", d);
  for (const k of ["from", "to", "first_seq", "tree_size"]) if (!isCount(d[k])) throw corrupt(`carried ${k}`, d[k]);
  if (!Array.isArray(d.frontier) || !Array.isArray(d.start_frontier) || !Array.isArray(d.rules)) throw corrupt("carried", d);
  const r = d as unknown as RetiredRun;
  if (r.from < 1 || r.to < r.from || r.tree_size <= r.first_seq) throw new AtoError(`a carried run of segments ${r.from}–${r.to}, tree size ${r.first_seq} to ${r.tree_size}, does not fit together`, "CORRUPT");
  const frontierHashes = r.frontier.map((f) => hashFromBase64(f, "frontier hash"));
  const startFrontierHashes = r.start_frontier.map((f) => hashFromBase64(f, "start frontier hash"));
  if (!fitsSize(frontierHashes, r.tree_size) || !fitsSize(startFrontierHashes, r.first_seq)) throw new AtoError(`a carried run's frontiers do not fit its tree sizes`, "CORRUPT");
  return { ...r, frontierHashes, startFrontierHashes };
}
