/**
 * --export-proof SEQ --out DIR: one record and everything needed to check it without ato.
 *
 *   record.json          the record's line, byte for byte, without its newline (the leaf)
 *   proof.json           its inclusion proof (RFC 9162 §2.1.3) in the signed tree, in hex
 *   proof-hashes.txt     the same proof hashes, one per line, for the shell script
 *   checkpoint.txt       the checkpoint text exactly as signed
 *   checkpoint.sig       the signature: Ed25519 raw 64 bytes, or ECDSA DER
 *   checkpoint.note      the signed note (usable as --trusted-checkpoint)
 *   pubkey.pem           the public key that verified it
 *   verify-inclusion.sh  recomputes the proof with printf, sha256sum, base64 and od only
 *
 * The proof is built in a second pass from the start of the record's segment to the
 * checkpoint, with O(log n) span hashers (src/tree/ranges.ts), then checked before it is
 * written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import { forEachLine, leafHashInPlace } from "../log/lines.ts";
import { SpanHasher, hashLeaf, hex, inclusionSpans, verifyInclusion, type Hash } from "../tree/index.ts";
import { usageFromErrno } from "./files.ts";
import type { InputFile } from "./inputs.ts";
import type { ExportCapture } from "./state.ts";
import { inclusionScript } from "./script.ts";

export interface ExportResult {
  dir: string;
  seq: number;
  treeSize: number;
  checkpoint: { file: string; line: number };
  /** Commands that check the export without ato. */
  commands: { signature: string; inclusion: string };
}

export function exportProof(files: InputFile[], capture: ExportCapture, seq: number, dir: string): ExportResult {
  const line = capture.line;
  const cp = capture.checkpoint;
  if (!line) throw new AtoError(`seq ${seq} is not a line of the given segments (or lies where the log does not verify)`, "USAGE");
  if (!cp) throw new AtoError(`no checkpoint with a good signature covers seq ${seq} yet: nothing to prove it against`, "INCOMPLETE");
  const proof = buildProof(files, line.fileIndex, line.fileStart, seq, cp.treeSize);
  const leafHash = hashLeaf(line.bytes);
  try {
    verifyInclusion(seq, cp.treeSize, leafHash, proof, cp.root);
  } catch (e) {
    // The line and checkpoint were checked on the first pass: a proof that fails now is a bug.
    if (e instanceof AtoError && e.code === "TAMPERED") throw new AtoError(`the inclusion proof built for seq ${seq} does not verify: ${e.message}`, "INTERNAL", { cause: e });
    throw e;
  }
  try {
    mkdirSync(dir, { recursive: true });
    const put = (name: string, data: string | Uint8Array, mode = 0o644) => writeFileSync(join(dir, name), data, { mode });
    put("record.json", line.bytes);
    put("proof.json", `${JSON.stringify({ seq, leaf_index: seq, tree_size: cp.treeSize, leaf_hash: hex(leafHash), root: hex(cp.root), proof: proof.map(hex), algorithm: "RFC 9162 section 2.1.3.2, SHA-256, leaf = SHA-256(0x00 || record.json), node = SHA-256(0x01 || left || right)", record: { file: line.file, line: line.lineNo }, checkpoint: { file: cp.file, line: cp.lineNo } }, null, 2)}\n`);
    put("proof-hashes.txt", proof.map((h) => `${hex(h)}\n`).join(""));
    put("checkpoint.txt", cp.text);
    put("checkpoint.sig", cp.signature);
    put("checkpoint.note", cp.note);
    put("pubkey.pem", cp.key.pem);
    put("verify-inclusion.sh", inclusionScript(seq, cp.treeSize), 0o755);
  } catch (e) {
    throw usageFromErrno(e, `cannot write the proof files to ${dir}`);
  }
  const signature =
    cp.key.algorithm === "ed25519"
      ? `openssl pkeyutl -verify -pubin -inkey ${join(dir, "pubkey.pem")} -rawin -in ${join(dir, "checkpoint.txt")} -sigfile ${join(dir, "checkpoint.sig")}`
      : `openssl dgst -sha256 -verify ${join(dir, "pubkey.pem")} -signature ${join(dir, "checkpoint.sig")} ${join(dir, "checkpoint.txt")}`;
  return { dir, seq, treeSize: cp.treeSize, checkpoint: { file: cp.file, line: cp.lineNo }, commands: { signature, inclusion: `bash ${join(dir, "verify-inclusion.sh")}` } };
}

/** PATH(seq, D[treeSize]) from the leaves of the record's segment onwards. */
function buildProof(files: InputFile[], fileIndex: number, start: { size: number; frontier: Hash[] }, seq: number, treeSize: number): Hash[] {
  const hashers = inclusionSpans(seq, treeSize).map((span) => new SpanHasher(span));
  for (const h of hashers) h.seed(start.frontier, start.size);
  let leaf = start.size;
  for (const file of files.slice(fileIndex)) {
    forEachLine(file.fd, file.size, (buf, s, e) => {
      if (leaf >= treeSize) return true;
      if (leaf !== seq) hashers.find((h) => leaf >= h.span.start && leaf < h.span.end)!.add(leaf, leafHashInPlace(buf, s, e));
      leaf++;
    }, { maxLine: MAX_LINE_BYTES });
    if (leaf >= treeSize) break;
  }
  return hashers.map((h) => h.root());
}
