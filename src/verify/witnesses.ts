/**
 * `ato verify --witness VKEY… [--witness-quorum K] [--witness-every]`: checks, in verify's one
 * pass over the log, the witnesses' cosignature lines (src/evidence/witness.ts) against the
 * checkpoints they name. The log's latest checkpoint that covers evidence (lines other than
 * checkpoint, segment and witness lines) must carry valid cosignatures from K of the given
 * witnesses (with --witness-every: each such checkpoint). Too few: incomplete, naming the
 * checkpoint and the witnesses missing. A cosignature by a given key that does not verify:
 * tampered. A cosignature by a key not given: reported, not counted.
 *
 * The first pass (verifier.ts) has already checked every checkpoint's signature and root; a
 * checkpoint whose signature failed there covers nothing here, like there.
 */
import { AtoError } from "../errors.ts";
import { parseCheckpointData, parseCosignatureData, parseRecord, parseSignedNote, type CosignatureData, type EvidenceRecord } from "../evidence/index.ts";
import { forEachLine } from "../log/lines.ts";
// The cosignature format only, never the witness's key handling (which reaches PKCS#11): verify stays offline-safe.
import { matchesKey, verifyCosignature } from "../witness/cosignature.ts";
import { TYPE_COSIGNATURE_V1, parseVerifierKey, type VerifierKey } from "../witness/vkey.ts";
import type { Finding } from "./findings.ts";
import { openInputs } from "./inputs.ts";
import type { LineWitness } from "./state.ts";

export interface WitnessPolicy {
  vkeys: string[];
  /** Default: all given. */
  quorum?: number;
  every?: boolean;
}

export interface WitnessedCheckpoint {
  seq: number;
  treeSize: number;
  text: string;
  note: string;
  file: string;
  line: number;
  needsWitnesses: boolean;
  /** Valid cosignatures by given witnesses: name → the cosignature line's data. */
  valid: Map<string, CosignatureData>;
}

export interface WitnessReport {
  result: "verified" | "tampered" | "incomplete";
  quorum: number;
  witnesses: string[];
  checked: { seq: number; tree_size: number; cosigned_by: string[]; missing: string[] }[];
  findings: Finding[];
  checkpoints: Map<number, WitnessedCheckpoint>;
}

const BOOKKEEPING = new Set(["checkpoint", "segment", "cosignature", "witness_refusal"]);

export function parseWitnessPolicy(vkeys: string[], quorum: string | undefined, every: boolean): WitnessPolicy {
  const keys = vkeys.map(parseVerifierKey);
  for (const k of keys) if (k.type !== TYPE_COSIGNATURE_V1) throw new AtoError(`--witness '${k.name}' is not a cosignature/v1 (type 0x04) key`, "USAGE");
  const q = quorum === undefined ? keys.length : Number(quorum);
  if (!Number.isInteger(q) || q < 1 || q > keys.length) throw new AtoError(`--witness-quorum must be 1 to ${keys.length} (the witnesses given); got '${quorum}'`, "USAGE");
  return { vkeys, quorum: q, every };
}

/**
 * The witness checks as lines arrive: `ato verify` feeds it from its one pass (verifier.ts),
 * every line it could read as a record, in log order, so the log is read once.
 */
export class WitnessPass implements LineWitness {
  private readonly keys: VerifierKey[];
  private readonly quorum: number;
  private readonly findings: Finding[] = [];
  private readonly checkpoints = new Map<number, WitnessedCheckpoint>();
  private evidenceSince = false;

  constructor(private readonly policy: WitnessPolicy) {
    this.keys = policy.vkeys.map(parseVerifierKey);
    this.quorum = policy.quorum ?? this.keys.length;
  }

  /** A plain evidence line (read without a parser): it only matters that there was one. */
  evidence(): void {
    this.evidenceSince = true;
  }

  record(rec: EvidenceRecord, where: { file: string; line: number }): void {
    const at = { ...where, seq: rec.seq };
    if (!BOOKKEEPING.has(rec.kind)) this.evidenceSince = true;
    else if (rec.kind === "checkpoint") {
      const cp = readCheckpoint(rec.data);
      if (!cp) return; // unsigned or unreadable: the first pass says which; it covers nothing
      this.checkpoints.set(rec.seq, { treeSize: cp.treeSize, text: cp.text, note: cp.note, ...at, needsWitnesses: this.evidenceSince, valid: new Map() });
      this.evidenceSince = false;
    } else if (rec.kind === "cosignature") {
      cosignature(rec.data, at, this.keys, this.checkpoints, this.findings);
    } else if (rec.kind === "witness_refusal") {
      const d = rec.data as Record<string, unknown>;
      this.findings.push({ severity: "notice", ...at, message: `witness ${String(d.witness)} refused the checkpoint of tree size ${String(d.tree_size)} (${String(d.status ?? "agent")} ${String(d.reason)}): ${String(d.message).slice(0, 200)}` });
    }
  }

  report(): WitnessReport {
    const { keys, quorum, findings } = this;
    const needing = [...this.checkpoints.values()].filter((c) => c.needsWitnesses);
    const targets = this.policy.every ? needing : needing.slice(-1);
    if (targets.length === 0) findings.push({ severity: "incomplete", message: "no signed checkpoint covers evidence: nothing a witness could have cosigned" });
    const checked = targets.map((c) => {
      const cosignedBy = keys.filter((k) => c.valid.has(k.name)).map((k) => k.name);
      const missing = keys.filter((k) => !c.valid.has(k.name)).map((k) => k.name);
      if (cosignedBy.length < quorum) {
        findings.push({ severity: "incomplete", file: c.file, line: c.line, seq: c.seq, message: `the checkpoint of tree size ${c.treeSize} (seq ${c.seq}) has ${cosignedBy.length} of the ${quorum} cosignatures required; missing: ${missing.join(", ")}` });
      }
      return { seq: c.seq, tree_size: c.treeSize, cosigned_by: cosignedBy, missing };
    });
    const result = findings.some((f) => f.severity === "tampered") ? "tampered" : findings.some((f) => f.severity === "incomplete") ? "incomplete" : "verified";
    return { result, quorum, witnesses: keys.map((k) => k.name), checked, findings, checkpoints: this.checkpoints };
  }
}

/** The witness checks alone, in a pass of their own over the files (`ato verify` folds them into its one pass instead). */
export function checkWitnesses(paths: string[], policy: WitnessPolicy): WitnessReport {
  const pass = new WitnessPass(policy);
  const inputs = openInputs(paths);
  try {
    for (const input of inputs.files) {
      let lineNo = 0;
      readLines(input.fd, input.size, (buf, start, end) => {
        lineNo++;
        let rec;
        try {
          rec = parseRecord(Buffer.from(buf.subarray(start, end)).toString("utf8"));
        } catch {
          return; // the first pass reports lines that are not records
        }
        pass.record(rec, { file: input.path, line: lineNo });
      });
    }
  } finally {
    inputs.close();
  }
  return pass.report();
}

function readCheckpoint(data: Record<string, unknown>): { treeSize: number; text: string; note: string } | undefined {
  try {
    const cp = parseCheckpointData(data);
    return cp.signature_status === "ok" ? { treeSize: cp.tree_size, text: parseSignedNote(cp.note).text, note: cp.note } : undefined;
  } catch (e) {
    if (e instanceof AtoError && e.code === "CORRUPT") return undefined;
    throw e;
  }
}

function cosignature(data: Record<string, unknown>, where: { file: string; line: number; seq: number }, keys: VerifierKey[], checkpoints: Map<number, WitnessedCheckpoint>, findings: Finding[]): void {
  let d: CosignatureData;
  let sig;
  try {
    d = parseCosignatureData(data);
    sig = parseSignedNote(`x\n\n${d.signature}\n`).signatures[0]!;
  } catch (e) {
    findings.push({ severity: "tampered", ...where, message: `a cosignature line that cannot be read: ${(e as Error).message}` });
    return;
  }
  const key = keys.find((k) => matchesKey(k, sig));
  if (!key) {
    findings.push({ severity: "notice", ...where, message: `a cosignature by '${sig.keyName}' (key ID ${Buffer.from(sig.keyId).toString("hex")}), not a witness given: not counted` });
    return;
  }
  const cp = checkpoints.get(d.checkpoint_seq);
  if (!cp) {
    findings.push({ severity: "notice", ...where, message: `a cosignature of ${key.name} for the checkpoint at seq ${d.checkpoint_seq}, which is not a signed checkpoint of the given files` });
    return;
  }
  const r = verifyCosignature(key, cp.text, sig);
  if (!r.ok) {
    findings.push({ severity: "tampered", ...where, message: `the cosignature of ${key.name} for the checkpoint of tree size ${cp.treeSize} (seq ${cp.seq}) does not verify: ${r.reason}` });
    return;
  }
  cp.valid.set(key.name, d);
}

/** forEachLine; a file that is no log (a line over 64 MiB) was reported by the first pass. */
function readLines(fd: number, size: number, onLine: Parameters<typeof forEachLine>[2]): void {
  try {
    forEachLine(fd, size, onLine);
  } catch (e) {
    if (!(e instanceof AtoError && e.code === "CORRUPT")) throw e;
  }
}

export function witnessText(r: WitnessReport): string {
  const head = `Witnesses: ${r.result.toUpperCase()} (quorum ${r.quorum} of ${r.witnesses.length}: ${r.witnesses.join(", ")})`;
  const rows = r.checked.map((c) => `  checkpoint seq ${c.seq} (tree size ${c.tree_size}): cosigned by ${c.cosigned_by.join(", ") || "none"}${c.missing.length ? `; missing ${c.missing.join(", ")}` : ""}`);
  const found = r.findings.map((f) => `  ${f.severity}: ${f.file ? `${f.file}${f.line ? ` line ${f.line}` : ""}: ` : ""}${f.message}`);
  return [head, ...rows, ...found.slice(0, 20), ...(found.length > 20 ? [`  … and ${found.length - 20} more`] : [])].join("\n");
}

const RANK = { verified: 0, incomplete: 1, untrusted: 2, tampered: 3 } as const;

/** The verdict of both passes: the more serious one. */
export function combinedResult<R extends keyof typeof RANK>(log: R, witnesses: WitnessReport | undefined): R | WitnessReport["result"] {
  return witnesses && RANK[witnesses.result] > RANK[log] ? witnesses.result : log;
}

/** The report's JSON form (without the checkpoint map). */
export function witnessJson(r: WitnessReport) {
  return { result: r.result, quorum: r.quorum, witnesses: r.witnesses, checked: r.checked, findings: r.findings };
}
