/**
 * `ato attest verify`: is this bundle what was recorded? In order:
 *  1. the JSONL: canonical lines, an operation first and an end last, every hashed field a SHA-256;
 *  2. the signature (.sig) over the JSONL's bytes, by a given key (a key whose fingerprint is not the one the
 *     bundle names: untrusted; the named key and a bad signature: tampered). "failed" at creation: no .sig;
 *  3. the SBOM: its SHA-256 is the one the JSONL's end names;
 *  4. the evidence log, verified by src/verify as `ato verify` does, holds an attest record of this op id with
 *     the same bundle and SBOM digests, before the last good checkpoint.
 * Each finding has the severity of `ato verify`'s: tampered (1) > untrusted (3) > incomplete (2). An unsigned
 * bundle ("failed") passes only when step 4 holds: a signed checkpoint then covers its digest.
 */
import { existsSync, readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { canonicalize } from "../evidence/index.ts";
import { listLogFiles } from "../log/index.ts";
import { verifySignature } from "../signer/index.ts";
import { verify, type Severity, type VerifyReport } from "../verify/index.ts";
import { loadKeys, type TrustedKey } from "../verify/keys.ts";
import { bundleFiles } from "./bundle.ts";
import { sha256Hex } from "./digest.ts";
import { attestDir } from "./ledger.ts";
import { checkOpId } from "./operation.ts";
import { HASHED_FIELDS } from "./secrets.ts";

export interface AttestFinding {
  severity: Exclude<Severity, "notice"> | "ok";
  check: "bundle" | "signature" | "sbom" | "log";
  message: string;
}

export interface AttestReport {
  op_id: string;
  result: "verified" | "tampered" | "incomplete" | "untrusted";
  findings: AttestFinding[];
  log: { result: VerifyReport["result"]; seq: number | null; covered_by_tree_size: number | null } | null;
}

const RANK = { tampered: 3, untrusted: 2, incomplete: 1, ok: 0 } as const;

export function verifyBundle(req: { auditDir: string; opId: string; pubkeys: string[] }): AttestReport {
  const opId = checkOpId(req.opId);
  const keys = loadKeys(req.pubkeys);
  const files = bundleFiles(attestDir(req.auditDir), opId);
  if (!existsSync(files.jsonl)) throw new AtoError(`no bundle ${files.jsonl} (operation '${opId}' under ${req.auditDir})`, "NOT_FOUND");
  const findings: AttestFinding[] = [];
  const add = (severity: AttestFinding["severity"], check: AttestFinding["check"], message: string) => findings.push({ severity, check, message });

  const bytes = readFileSync(files.jsonl);
  const digest = sha256Hex(bytes);
  const end = readLines(bytes, opId, add);
  if (end) {
    checkSignature(bytes, end, files.sig, keys, add);
    checkSbom(files.sbom, end, add);
  }
  const log = checkLog(req.auditDir, opId, digest, end, keys, add);
  const worst = findings.reduce((w, f) => (RANK[f.severity] > RANK[w] ? f.severity : w), "ok" as AttestFinding["severity"]);
  return { op_id: opId, result: worst === "ok" ? "verified" : worst, findings, log };
}

type Add = (s: AttestFinding["severity"], c: AttestFinding["check"], m: string) => void;

function readLines(bytes: Buffer, opId: string, add: Add): Record<string, unknown> | undefined {
  const text = bytes.toString("utf8");
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : [text];
  const objs: Record<string, unknown>[] = [];
  for (const [i, line] of lines.entries()) {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      add("tampered", "bundle", `line ${i + 1} is not JSON`);
      return undefined;
    }
    if (canonicalize(o) !== line) add("tampered", "bundle", `line ${i + 1} is not in canonical form (RFC 8785): its bytes were changed`);
    objs.push(o as Record<string, unknown>);
    badHashes(o, `line ${i + 1}`).forEach((m) => add("tampered", "bundle", m));
  }
  const [first, last] = [objs[0], objs.at(-1)];
  if (!text.endsWith("\n") || first?.type !== "operation" || last?.type !== "end" || first.op_id !== opId || last.op_id !== opId) {
    add("tampered", "bundle", `the bundle must run from an operation line to an end line of op ${opId}`);
    return undefined;
  }
  add("ok", "bundle", `${lines.length} lines, ${(last.events as number) ?? "?"} events, operation '${String(first.name)}' (${String(first.kind)}) from ${String(first.start)} to ${String(last.end)}`);
  return last;
}

function badHashes(v: unknown, where: string, field = ""): string[] {
  if (typeof v === "string") return HASHED_FIELDS.has(field) && !/^[0-9a-f]{64}$/.test(v) ? [`${where}: ${field} is not a SHA-256`] : [];
  if (Array.isArray(v)) return v.flatMap((x) => badHashes(x, where, field));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => badHashes(x, where, k));
  return [];
}

function checkSignature(bytes: Buffer, end: Record<string, unknown>, sigPath: string, keys: TrustedKey[], add: Add): void {
  if (end.signature_status !== "ok") {
    add("ok", "signature", `not signed when written (signature_status "failed": ${String(end.signature_error ?? "no reason given")}); the evidence log must vouch for it`);
    return;
  }
  if (!existsSync(sigPath)) return add("incomplete", "signature", `the bundle says it was signed, but ${sigPath} is missing`);
  const key = keys.find((k) => k.fingerprint === end.key_sha256);
  if (!key) return add("untrusted", "signature", `signed by the key with SPKI SHA-256 ${String(end.key_sha256)}, which is none of the given keys`);
  const ok = verifySignature(key.spkiDer, key.algorithm, bytes, readFileSync(sigPath));
  add(ok ? "ok" : "tampered", "signature", ok ? `${key.algorithm} signature good (${key.path})` : `the signature does not match the bundle's bytes under ${key.path}: the JSONL or the .sig was changed`);
}

function checkSbom(path: string, end: Record<string, unknown>, add: Add): void {
  if (!existsSync(path)) return add("incomplete", "sbom", `${path} is missing`);
  const sha = sha256Hex(readFileSync(path));
  add(sha === end.sbom_sha256 ? "ok" : "tampered", "sbom", sha === end.sbom_sha256 ? "SBOM digest matches the bundle" : `the SBOM's SHA-256 is ${sha}, the bundle names ${String(end.sbom_sha256)}: it was changed`);
}

function checkLog(auditDir: string, opId: string, digest: string, end: Record<string, unknown> | undefined, keys: TrustedKey[], add: Add): AttestReport["log"] {
  const { report } = verify({ paths: [auditDir], pubkeys: keys.map((k) => k.path) });
  if (report.result === "tampered" || report.result === "untrusted") add(report.result, "log", `the evidence log is ${report.result}: ${report.summary}`);
  const rec = findAttestRecord(auditDir, opId);
  const covered = report.total.last_signed?.tree_size ?? 0;
  if (!rec) {
    add("incomplete", "log", `no attest record of op ${opId} in the evidence log (not yet appended: see ${attestDir(auditDir)}/pending)`);
    return { result: report.result, seq: null, covered_by_tree_size: null };
  }
  const data = rec.data as Record<string, unknown>;
  if (data.bundle_sha256 !== digest) add("tampered", "log", `the log's attest record (seq ${rec.seq}) names bundle SHA-256 ${String(data.bundle_sha256)}; the file's is ${digest}: the bundle was changed`);
  else if (end && data.sbom_sha256 !== end.sbom_sha256) add("tampered", "log", `the log's attest record (seq ${rec.seq}) names another SBOM`);
  else if (rec.seq >= covered) add("incomplete", "log", `the attest record (seq ${rec.seq}) is not yet covered by a good checkpoint (last signed tree size ${covered})`);
  else add("ok", "log", `attest record at seq ${rec.seq}, covered by the signed checkpoint of tree size ${covered}; log ${report.result}`);
  return { result: report.result, seq: rec.seq, covered_by_tree_size: covered || null };
}

/** The log's attest record of this op id (the first, should a pending one have been appended twice). */
function findAttestRecord(auditDir: string, opId: string): { seq: number; data: unknown } | undefined {
  const { rotated, active } = listLogFiles(auditDir);
  const needle = `"op_id":"${opId}"`;
  for (const path of [...rotated.map((r) => r.path), ...(active ? [active] : [])]) {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line.includes(needle) || !line.includes(`"kind":"attest"`)) continue;
      const r = JSON.parse(line) as { kind: string; seq: number; data: { op_id?: string } };
      if (r.kind === "attest" && r.data.op_id === opId) return { seq: r.seq, data: r.data };
    }
  }
  return undefined;
}
