/**
 * The verifier's whole memory while it streams a log: the running tree frontier (O(log n)
 * hashes), where the last good checkpoint was, one small report per segment file and a
 * bounded list of findings. Nothing here grows with the number of lines.
 */
import type { EvidenceRecord } from "../evidence/index.ts";
import type { Hash } from "../tree/index.ts";
import { Findings, FindingSet, type Finding } from "./findings.ts";
import type { TrustedKey } from "./keys.ts";
import type { SegmentReport } from "./report.ts";
import type { StreamTree } from "./stream-tree.ts";
import type { TrustedCheckpoint } from "./trusted.ts";

export interface Position {
  file: string;
  line: number;
  /** Leaf index in the log's tree (= seq when nothing is missing). */
  leaf: number;
}

/** Checks fed from the verifier's one pass (the witness checks, witnesses.ts): every line read as a record, in log order. */
export interface LineWitness {
  /** A plain record line the fast path read (quick.ts): not a checkpoint, segment or witness line. */
  evidence(): void;
  /** A line parsed in full. */
  record(rec: EvidenceRecord, where: { file: string; line: number }): void;
}

export interface VerifyOptions {
  witness?: LineWitness;
  keys: TrustedKey[];
  trusted?: TrustedCheckpoint;
  /** A trusted starting point (--from-checkpoint): excuses the lines before the first given segment. */
  from?: TrustedCheckpoint;
  /** Lines allowed after the last signed checkpoint before the log counts as incomplete. */
  maxUnsigned?: number;
  /** Leaf index whose line and covering checkpoint should be kept for --export-proof. */
  exportSeq?: number;
}

export interface ExportCapture {
  line?: { bytes: Uint8Array; file: string; lineNo: number; fileIndex: number; run: number; fileStart: { size: number; frontier: Hash[]; run: number } };
  checkpoint?: { text: string; note: string; signature: Uint8Array; key: TrustedKey; treeSize: number; root: Hash; file: string; lineNo: number };
}

export class RunState {
  readonly findings = new Findings();
  /** The running tree; undefined until a segment line anchors it. */
  tree: StreamTree | undefined;
  expectedSeq = 0;
  origin: string | undefined;
  logId: string | undefined;
  lastSegment: { number: number; file: string } | undefined;
  /** The last checkpoint whose root matched (or the last resync point): damage lies after it. */
  lastMatched: Position | undefined;
  lastGood: (Position & { treeSize: number }) | undefined;
  /** Seq gaps since the last good checkpoint: incomplete unless a checkpoint mismatch, or the end of the log, shows them to be tampering. */
  readonly pendingGaps = new FindingSet("incomplete");
  /** Segments since the last break in the chain: a good checkpoint covers all of them. */
  run: SegmentReport[] = [];
  segments: SegmentReport[] = [];
  unknownKeys = new Map<string, { finding: Finding; count: number }>();
  trustedChecked = false;
  trustedResult: "consistent" | "mismatch" | "not checkable" | undefined;
  fromResult: "consistent" | "mismatch" | "not checkable" | undefined;
  /** Counts re-anchorings: a proof can only join a line and a checkpoint of the same run. */
  runId = 0;
  readonly capture: ExportCapture = {};
  /** Where the lines no good checkpoint covers begin: the tail that tail.ts reads again. */
  tailFrom: { fileIndex: number; offset: number; line: number } | undefined;
  /** Files that could not be placed in the log and were not read. */
  readonly skipped = new Set<number>();
  /**
   * The first file given starts past tree size 0 (earlier segments not given): the lines
   * before it were not seen, which only a starting checkpoint at or after it excuses (start.ts).
   */
  startGap: { file: string; segment: number; treeSize: number } | undefined;
  /** The chain broke and the verifier started again from a later file's recorded frontier. */
  reanchored = false;

  constructor(readonly opts: VerifyOptions) {}
}
