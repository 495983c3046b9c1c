/** The writer's options and their defaults. */
import { hostname } from "node:os";
import { AtoError } from "../errors.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import { SETTINGS } from "../config/index.ts";
import type { CheckpointResult } from "./types.ts";

/** Calls `tick` every `ms` milliseconds until the returned function is called. */
export type IntervalTimer = (tick: () => void, ms: number) => () => void;

export interface EvidenceLogOptions {
  /** Directory of signed_evidence.log and its rotated segments. Default: the auditDir setting's (src/config/table.ts). */
  auditDir?: string;
  /** Signs checkpoints. The writer owns it from here on and closes it in close(). null: every checkpoint is "failed". */
  signer?: CheckpointSigner | null;
  /** Opens a new signer after a failure (HSM gone, then back), tried at each later checkpoint. */
  reopenSigner?: () => CheckpointSigner;
  /** Checkpoint origin; default ato/<hostname>/<log id> (the log id is made once, with segment 1). */
  origin?: string;
  /** Signed-note key name; default the origin. */
  keyName?: string;
  /** Default data classification label of records. Default "internal". */
  classification?: string;
  /** Sign a checkpoint after this many lines. Default: the checkpointEvery setting's. */
  checkpointEvery?: number;
  /** Sign a checkpoint every this many milliseconds, even when nothing new arrived; 0 = never. Default: the checkpointSeconds setting's. */
  checkpointIntervalMs?: number;
  /** Rotate after a checkpoint once the active segment is this large. Default 64 MiB. */
  rotateBytes?: number;
  /** … or holds this many lines. Default 1,000,000. */
  rotateLines?: number;
  /**
   * Group commit: a count checkpoint is signed at once and its line written when the sync of the
   * lines it covers returns (in the background) or with the next records, in one write, so
   * appends never wait for that sync. Default false: each count checkpoint is written before the
   * append that made it due returns. Either way a checkpoint line follows the durability of
   * what it covers, at the same seq (the `checkpointEvery` cadence is the same).
   */
  groupCommit?: boolean;
  /** Set the append-only attribute (chattr +a) on segments. Default true. */
  appendOnly?: boolean;
  /** Told about problems that do not stop the log (attribute not supported, checkpoint mismatch on disk). */
  onWarning?: (message: string) => void;
  /** Told about failures of automatic checkpoints (timer or count), which have no caller to throw to, and of onCheckpoint. */
  onError?: (error: Error) => void;
  /**
   * Told about every checkpoint line once it is written and synced (status "ok": signed; "failed": not). The
   * one place where a checkpoint becomes durable: submit it to witnesses or forwarders from here. Its errors
   * go to onError: a listener cannot break the log.
   */
  onCheckpoint?: (checkpoint: CheckpointResult) => void;
  /** Runs the interval checkpoints; default setInterval (not keeping the process alive). Tests pass their own to tick explicitly. */
  timer?: IntervalTimer;
  /** The clock; tests may pin it. */
  now?: () => Date;
  /** Host name used in the default origin. */
  hostname?: string;
}

type Optional = "signer" | "reopenSigner" | "origin" | "keyName" | "onCheckpoint";
export type ResolvedOptions = Required<Omit<EvidenceLogOptions, Optional>> & Pick<EvidenceLogOptions, Optional>;

const defaultTimer: IntervalTimer = (tick, ms) => {
  const t = setInterval(tick, ms);
  t.unref?.();
  return () => clearInterval(t);
};

export function resolveOptions(o: EvidenceLogOptions): ResolvedOptions {
  for (const k of ["checkpointEvery", "rotateBytes", "rotateLines"] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new AtoError(`evidence log option ${k} must be a positive integer; got ${v}`, "CONFIG");
  }
  if (o.checkpointIntervalMs !== undefined && !(Number.isFinite(o.checkpointIntervalMs) && o.checkpointIntervalMs >= 0)) {
    throw new AtoError(`evidence log option checkpointIntervalMs must be 0 or more; got ${o.checkpointIntervalMs}`, "CONFIG");
  }
  return {
    auditDir: o.auditDir ?? SETTINGS.auditDir.default,
    signer: o.signer,
    reopenSigner: o.reopenSigner,
    origin: o.origin,
    keyName: o.keyName,
    classification: o.classification ?? "internal",
    checkpointEvery: o.checkpointEvery ?? SETTINGS.checkpointEvery.default,
    checkpointIntervalMs: o.checkpointIntervalMs ?? SETTINGS.checkpointSeconds.default * 1000,
    rotateBytes: o.rotateBytes ?? 64 << 20,
    rotateLines: o.rotateLines ?? 1_000_000,
    appendOnly: o.appendOnly ?? true,
    groupCommit: o.groupCommit ?? false,
    onWarning: o.onWarning ?? ((m) => process.stderr.write(`ato: evidence log: ${m}\n`)),
    onError: o.onError ?? ((e) => process.stderr.write(`ato: evidence log: ${e.message}\n`)),
    onCheckpoint: o.onCheckpoint,
    timer: o.timer ?? defaultTimer,
    now: o.now ?? (() => new Date()),
    hostname: (o.hostname ?? hostname()).replace(/[^\w.-]/g, "_") || "localhost",
  };
}
