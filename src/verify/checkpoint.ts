/**
 * One checkpoint line, checked against the lines before it: its tree size and root must be
 * what those lines hash to, its frontier what the verifier holds, and, when it says it was
 * signed, its signed note must match its fields and verify with a given key.
 *
 * A mismatch is "tampered": the damage lies between the last checkpoint that matched and
 * this one. When this checkpoint's signature is good its frontier is authentic, which
 * narrows the damage to one of its subtrees and lets the verifier carry on from here.
 */
import { AtoError } from "../errors.ts";
import { keyIdHex, parseCheckpointBody, parseCheckpointData, parseSignedNote, type EvidenceRecord, type ParsedCheckpoint } from "../evidence/index.ts";
import { equalHashes, fitsSize, frontierRoot, frontierSpans, type Hash } from "../tree/index.ts";
import type { Finding } from "./findings.ts";
import { expectedKeyIds, findKey, keyCheck, type TrustedKey } from "./keys.ts";
import type { Position, RunState } from "./state.ts";

export interface CheckpointContext {
  file: string;
  line: number;
  /** Leaf index of this checkpoint line (its tree size when nothing is missing). */
  leaf: number;
  /** Line number in this file of a leaf index, or undefined when it is in an earlier file. */
  lineOfLeaf(leaf: number): number | undefined;
}

export type SignatureVerdict = { good: true; key: TrustedKey; text: string; signature: Uint8Array } | { good: false };

/** The signature verdict, and whether the checkpoint's root matched the lines before it. */
export type CheckpointVerdict = SignatureVerdict & { matched: boolean };

export function checkCheckpoint(s: RunState, rec: EvidenceRecord, at: CheckpointContext): CheckpointVerdict {
  const tree = s.tree!;
  const f = (severity: Finding["severity"], message: string) => s.findings.add({ severity, file: at.file, line: at.line, seq: rec.seq, message });
  let c: ParsedCheckpoint;
  try {
    c = parseCheckpointData(rec.data);
  } catch (e) {
    if (!isCorrupt(e)) throw e;
    f("tampered", `checkpoint is malformed: ${e.message}`);
    return { good: false, matched: false };
  }
  if (c.origin !== s.origin) f("tampered", `checkpoint is for origin '${c.origin}', this log is '${s.origin}': a line from another log`);
  const verdict = c.signature_status === "ok" ? checkSignature(s, c, f) : ({ good: false } as const);
  const seg = s.segments.at(-1)!;
  if (c.signature_status === "ok" && verdict.good) seg.checkpoints.ok++;
  else if (c.signature_status === "failed") seg.checkpoints.failed++;
  const frontier = tree.frontier; // a copy: read once
  if (c.tree_size === tree.size && rec.seq === tree.size && equalHashes(c.rootHash, frontierRoot(frontier))) {
    if (!sameFrontier(c.frontierHashes, frontier)) f("tampered", "checkpoint's recorded frontier does not match the tree it signs");
    matched(s, at, verdict.good ? c.tree_size : undefined);
    return { ...verdict, matched: true };
  }
  const authentic = verdict.good && fitsSize(c.frontierHashes, c.tree_size) && equalHashes(frontierRoot(c.frontierHashes), c.rootHash);
  mismatch(s, c, at, authentic, rec.seq, frontier);
  if (authentic) {
    tree.size = c.tree_size; // carry on from the signed state; the lines before stay reported
    tree.frontier = c.frontierHashes.slice();
    s.runId++;
    matched(s, at, c.tree_size);
  }
  return { ...verdict, matched: false };
}

function checkSignature(s: RunState, c: ParsedCheckpoint, f: (sev: Finding["severity"], m: string) => Finding): SignatureVerdict {
  let note: ReturnType<typeof parseSignedNote>;
  try {
    note = parseSignedNote(c.note);
    const body = parseCheckpointBody(note.text);
    if (body.origin !== c.origin || body.size !== c.tree_size || !equalHashes(body.root, c.rootHash)) {
      f("tampered", "the signed note does not say what the checkpoint's fields say (origin, size or root changed)");
      return { good: false };
    }
  } catch (e) {
    if (!isCorrupt(e)) throw e;
    f("tampered", `checkpoint note is malformed: ${e.message}`);
    return { good: false };
  }
  const text = encoder.encode(note.text);
  for (const sig of note.signatures) {
    const key = findKey(s.opts.keys, sig.keyName, sig.keyId);
    if (!key) continue;
    if (!keyCheck(key)(text, sig.signature)) {
      f("tampered", `checkpoint signature by key '${sig.keyName}' (${keyIdHex(sig.keyId)}) does not verify: the checkpoint text or its signature was changed`);
      return { good: false };
    }
    if (Buffer.from(sig.signature).toString("base64") !== c.signature) f("tampered", "checkpoint's signature field differs from the signature in its note");
    return { good: true, key, text: note.text, signature: sig.signature };
  }
  unknownKey(s, note.signatures, f);
  return { good: false };
}

const encoder = new TextEncoder();

/** Reports an unknown key once per key, with a count, not once per checkpoint. */
function unknownKey(s: RunState, sigs: { keyName: string; keyId: Uint8Array }[], f: (sev: Finding["severity"], m: string) => Finding): void {
  const who = sigs.map((x) => `'${x.keyName}' (key ID ${keyIdHex(x.keyId)})`).join(", ") || "no key";
  const seen = s.unknownKeys.get(who);
  if (seen) {
    seen.count++;
    return;
  }
  if (s.unknownKeys.size >= 50) return void f("untrusted", `checkpoint is signed by ${who}, not by the given public key`); // bounded: a log can name a new key per line
  const want = sigs[0] ? expectedKeyIds(s.opts.keys, sigs[0].keyName) : "?";
  s.unknownKeys.set(who, { count: 1, finding: f("untrusted", `checkpoint is signed by ${who}, not by the given public key (its key ID for that name would be ${want})`) });
}

function matched(s: RunState, at: CheckpointContext, signedSize: number | undefined): void {
  s.lastMatched = { file: at.file, line: at.line, leaf: at.leaf };
  if (signedSize === undefined) return; // an unsigned checkpoint can be forged: gaps before it stay pending
  s.pendingGaps.clear();
  s.lastGood = { file: at.file, line: at.line, leaf: at.leaf, treeSize: signedSize };
  for (const seg of s.run) seg.covered_to = at.leaf + 1; // the checkpoint's own signed line counts as covered
}

function mismatch(s: RunState, c: ParsedCheckpoint, at: CheckpointContext, authentic: boolean, seq: number, frontier: Hash[]): void {
  const tree = s.tree!;
  s.findings.raiseAll(s.pendingGaps, "tampered");
  const from = s.lastMatched ?? { file: at.file, line: 1, leaf: at.leaf - (at.line - 1) };
  let firstLeaf = from.leaf;
  let lastLeaf = tree.size - 1;
  if (authentic && c.tree_size === tree.size) {
    // The first frontier hash that differs is a subtree holding the first changed line.
    const i = c.frontierHashes.findIndex((h, k) => !frontier[k] || !equalHashes(h, frontier[k]!));
    const span = frontierSpans(tree.size)[i];
    if (span) [firstLeaf, lastLeaf] = [Math.max(firstLeaf, span.start), Math.min(lastLeaf, span.start + span.width - 1)];
  }
  const fromLine = at.lineOfLeaf(firstLeaf);
  const range = { from: fromLine === undefined ? { file: from.file, line: from.line } : { file: at.file, line: fromLine }, to: { file: at.file, line: Math.max(1, at.line - 1) } };
  const where = range.from.file === at.file ? `lines ${range.from.line}–${range.to.line}` : `${range.from.file} line ${range.from.line} to ${at.file} line ${range.to.line}`;
  const what = c.tree_size !== tree.size || seq !== tree.size ? `covers ${c.tree_size} lines but ${tree.size} precede it` : "does not match the lines before it";
  const signed = authentic ? "signed checkpoint" : c.signature_status === "ok" ? "checkpoint (its signature is not valid either)" : "unsigned checkpoint";
  s.findings.add({ severity: "tampered", file: at.file, line: at.line, seq, lines: range, message: `${signed} ${what}: one of ${where} was changed, removed, inserted or reordered` });
}

/** The evidence parsers' verdict on bad input; anything else thrown is a bug. */
function isCorrupt(e: unknown): e is AtoError {
  return e instanceof AtoError && e.code === "CORRUPT";
}

function sameFrontier(a: Hash[], b: Hash[]): boolean {
  return a.length === b.length && a.every((h, i) => equalHashes(h, b[i]!));
}
