/** `ato verify` as a library: verify segment files or an audit directory, offline. */
import { AtoError } from "../errors.ts";
import { exportProof, type ExportResult } from "./export.ts";
import { finish } from "./finish.ts";
import { openInputs } from "./inputs.ts";
import { reassembleForwarded } from "./forwarded.ts";
import { loadKeys } from "./keys.ts";
import type { VerifyReport } from "./report.ts";
import type { LineWitness } from "./state.ts";
import { loadTrustedCheckpoint } from "./trusted.ts";
import { verifyFiles } from "./verifier.ts";

export interface VerifyRequest {
  /** Audit directories and/or segment files. */
  paths: string[];
  /** PEM public key files; a checkpoint verifies with any of them. */
  pubkeys: string[];
  trustedCheckpoint?: string;
  /** A signed checkpoint where verification starts: the lines before it need not be given. */
  fromCheckpoint?: string;
  maxUnsigned?: number;
  /** Export this seq's record, proof, checkpoint, signature and key to `outDir`. */
  exportSeq?: number;
  outDir?: string;
  /** Checks fed from the same pass (the witness checks): the log is read once. */
  witness?: LineWitness;
}

/**
 * Verifies; usage problems (unreadable key, missing path) throw AtoError("USAGE"). An export
 * that cannot be made (no signed checkpoint covers the seq yet) is returned as exportError,
 * next to the report.
 */
export function verify(req: VerifyRequest): { report: VerifyReport; exported?: ExportResult; exportError?: AtoError } {
  const keys = loadKeys(req.pubkeys);
  const trusted = req.trustedCheckpoint ? loadTrustedCheckpoint(req.trustedCheckpoint, keys) : undefined;
  const from = req.fromCheckpoint ? loadTrustedCheckpoint(req.fromCheckpoint, keys) : undefined;
  // NDJSON exports of forwarded events become segment files; once open they may go.
  const forwarded = reassembleForwarded(req.paths);
  const inputs = (() => { try { return openInputs(forwarded.paths); } finally { forwarded.cleanup(); } })();
  try {
    const state = verifyFiles(inputs.files, { keys, trusted, from, maxUnsigned: req.maxUnsigned, exportSeq: req.exportSeq, witness: req.witness });
    const report = finish(state, inputs.missingActive, inputs.aliases);
    if (req.exportSeq === undefined) return { report };
    try {
      return { report, exported: exportProof(inputs.files, state.capture, req.exportSeq, req.outDir!) };
    } catch (e) {
      if (e instanceof AtoError && (e.code === "INCOMPLETE" || e.code === "TAMPERED")) return { report, exportError: e };
      throw e;
    }
  } finally {
    inputs.close();
  }
}

export { renderText } from "./text.ts";
export { EXIT, type Finding, type Severity } from "./findings.ts";
export type { SegmentReport, VerifyReport } from "./report.ts";
export type { ExportResult } from "./export.ts";
export { verifyHashPath } from "./stream-tree.ts";
