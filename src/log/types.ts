/** What the writer reports back. */
import type { CheckpointTrigger } from "../evidence/index.ts";
import type { SignatureAlgorithm } from "../signer/index.ts";

export interface CheckpointResult {
  /** seq of the checkpoint line. */
  seq: number;
  /** The tree size it signs: every line before it. */
  treeSize: number;
  /** base64 root hash. */
  root: string;
  status: "ok" | "failed";
  error: string | undefined;
  /** The signed note ("ok") or the bare checkpoint text ("failed"). */
  note: string;
  /** What made it: "count", "interval", "start", "shutdown" or "manual". */
  trigger: CheckpointTrigger;
}

export interface LatestCheckpoint {
  seq: number;
  treeSize: number;
  root: string;
  /** The signed note, exactly as in the log: save it elsewhere for `ato verify --trusted-checkpoint`. */
  note: string;
}

export interface EvidenceLogStatus {
  auditDir: string;
  activePath: string;
  logId: string;
  origin: string;
  segment: number;
  /** Lines in the log so far: the next seq. */
  treeSize: number;
  appendOnly: { set: boolean; reason?: string };
  rotation: { enabled: boolean; reason?: string };
  /** The outcome of the last write, sync or rotation: false (with the error's message) when it failed. */
  writable: { ok: boolean; error?: string };
  /** "failed" after a signing error until a signer works again; "none" without signer. */
  signer: "ok" | "failed" | "none";
  key: { name: string; id: string; algorithm: SignatureAlgorithm } | undefined;
}
