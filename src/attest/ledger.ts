/**
 * A bundle's digest into the evidence log, as an `attest` record, so the Merkle tree and the next signed
 * checkpoint cover it. The record goes through the log's one writer (EvidenceLog.appendRecord). When another
 * process holds the log (a running agent), the record waits in <attest dir>/pending/<op_id>.json and the next
 * writer that opens the log through ato attest (an agent start, the next `ato attest run`) appends it: the
 * bundle is never lost, and `ato attest verify` says "incomplete" until then.
 */
import { basename, join } from "node:path";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { EvidenceLog } from "../log/index.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import type { BundleResult } from "./bundle.ts";

export const ATTEST_DIR_NAME = "attest";
export const attestDir = (auditDir: string) => join(auditDir, ATTEST_DIR_NAME);
const pendingDir = (auditDir: string) => join(attestDir(auditDir), "pending");

export function attestRecord(r: BundleResult): Record<string, unknown> {
  return {
    op_id: r.opId, name: r.name, kind: r.kind, events: r.events,
    bundle: basename(r.files.jsonl), bundle_sha256: r.bundleSha256, sbom_sha256: r.sbomSha256,
    signature_sha256: r.signatureSha256, signature_status: r.signatureStatus,
  };
}

/** Appends the waiting records, then this one; returns the record's seq. */
export function appendAttest(log: EvidenceLog, auditDir: string, r: BundleResult): number {
  flushPending(log, auditDir);
  return log.appendRecord("attest", attestRecord(r)).seq;
}

/** Appends every record waiting in pending/, in op id order (time order), removing each once written. */
export function flushPending(log: EvidenceLog, auditDir: string): number {
  let names: string[];
  try {
    names = readdirSync(pendingDir(auditDir)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return 0; // no pending directory: nothing waits
  }
  for (const n of names) {
    const path = join(pendingDir(auditDir), n);
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new AtoError(`the pending attest record ${path} is not JSON: ${(e as Error).message}`, "CORRUPT", { cause: e });
    }
    log.appendRecord("attest", data);
    rmSync(path);
  }
  return names.length;
}

/** Leaves the bundle's attest record in pending/, for the next writer through ato attest to append; its path. */
export function writePending(auditDir: string, r: BundleResult): string {
  mkdirSync(pendingDir(auditDir), { recursive: true, mode: 0o750 });
  const path = join(pendingDir(auditDir), `${r.opId}.json`);
  writeFileSync(path, JSON.stringify(attestRecord(r)) + "\n", { mode: 0o640 });
  return path;
}

export type Logged = { seq: number; checkpoint: "ok" | "failed" } | { pending: string; reason: string };

/**
 * Opens the log in `auditDir`, appends the record and closes it (which signs a checkpoint covering it).
 * The log takes over `signer` (and closes it); null: its checkpoint is "failed", a later good one covers it.
 */
export function logBundle(auditDir: string, signer: CheckpointSigner | null, r: BundleResult, onWarning: (m: string) => void): Logged {
  let log: EvidenceLog;
  try {
    log = EvidenceLog.open({ auditDir, signer, checkpointIntervalMs: 0, onWarning });
  } catch (e) {
    signer?.close();
    if (!(e instanceof AtoError && e.code === "BUSY")) throw e;
    return { pending: writePending(auditDir, r), reason: e.message };
  }
  try {
    const seq = appendAttest(log, auditDir, r);
    const cp = log.checkpoint("manual");
    return { seq, checkpoint: cp.status };
  } finally {
    log.close();
  }
}
