/**
 * The `data` of a "checkpoint" line. Design choice: checkpoint lines are leaves of the tree
 * like every other line, and a checkpoint at seq s commits to the tree of the s lines
 * before it (tree_size = s). Its own line is then covered by the next checkpoint, so
 * deleting or editing a checkpoint line is as detectable as editing any record.
 *
 * The line repeats what the signed note says (origin, size, root) next to what a verifier
 * needs to resume from here without the earlier lines: the frontier of the tree at
 * tree_size (O(log n) hashes), the segment number and the previous segment's name and
 * final root.
 */
import { AtoError } from "../errors.ts";
import type { SignatureAlgorithm } from "./keyid.ts";
import { hashFromBase64, type Hash } from "../tree/index.ts";

export type CheckpointTrigger = "count" | "interval" | "shutdown" | "start" | "manual";

export interface PrevSegment {
  /** File name the previous segment was rotated to, e.g. signed_evidence.000002.log. */
  file: string;
  segment: number;
  /** Tree size and root after the previous segment's last line: its final hash. */
  tree_size: number;
  root: string;
}

export interface CheckpointData {
  algorithm: SignatureAlgorithm | null;
  frontier: string[];
  key_id: string | null;
  key_name: string | null;
  /** The signed note when signature_status is "ok"; the bare checkpoint text when "failed". */
  note: string;
  origin: string;
  prev_segment: PrevSegment | null;
  root: string;
  segment: number;
  /** base64 of the raw signature (Ed25519: 64 bytes; ECDSA: DER), "" when failed. */
  signature: string;
  signature_error?: string;
  signature_status: "ok" | "failed";
  tree_size: number;
  trigger: CheckpointTrigger;
}

/** A checkpoint line's data, checked field by field, with hashes decoded. */
export interface ParsedCheckpoint extends CheckpointData {
  rootHash: Hash;
  frontierHashes: Hash[];
  signatureBytes: Uint8Array;
}

export function parseCheckpointData(d: Record<string, unknown>): ParsedCheckpoint {
  const status = d.signature_status;
  if (status !== "ok" && status !== "failed") throw corrupt("signature_status", status);
  if (typeof d.note !== "string") throw corrupt("note", d.note);
  if (typeof d.origin !== "string") throw corrupt("origin", d.origin);
  if (!isCount(d.tree_size)) throw corrupt("tree_size", d.tree_size);
  if (!isCount(d.segment) || d.segment < 1) throw corrupt("segment", d.segment);
  if (!Array.isArray(d.frontier)) throw corrupt("frontier", d.frontier);
  if (typeof d.signature !== "string") throw corrupt("signature", d.signature);
  if (d.algorithm !== null && d.algorithm !== "ed25519" && d.algorithm !== "ecdsa-p256") throw corrupt("algorithm", d.algorithm);
  const c = d as unknown as CheckpointData;
  return {
    ...c,
    rootHash: hashFromBase64(c.root, "checkpoint root"),
    frontierHashes: c.frontier.map((f) => hashFromBase64(f, "frontier hash")),
    signatureBytes: new Uint8Array(Buffer.from(c.signature, "base64")),
  };
}

export function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

export function corrupt(field: string, v: unknown): AtoError {
  return new AtoError(`field ${field} is ${JSON.stringify(v)?.slice(0, 60) ?? "missing"}`, "CORRUPT");
}
