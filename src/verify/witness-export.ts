/**
 * --export-proof with --witness: the cosignatures of the exported checkpoint, each as the
 * message the witness signed (cosignature/v1, time, checkpoint text), its raw 64-byte
 * Ed25519 signature and the witness's public key in PEM, with the OpenSSL command that checks it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { parseSignedNote } from "../evidence/index.ts";
import { spkiToPem } from "../signer/pem.ts";
import { cosignedMessage } from "../witness/cosignature.ts";
import { ed25519Spki } from "../witness/ed25519.ts";
import { parseVerifierKey } from "../witness/vkey.ts";
import type { WitnessReport } from "./witnesses.ts";

export function exportCosignatures(r: WitnessReport, vkeys: string[], treeSize: number, dir: string): string[] {
  const cp = [...r.checkpoints.values()].find((c) => c.treeSize === treeSize);
  if (!cp || cp.valid.size === 0) return [];
  const commands: string[] = [];
  let i = 0;
  for (const vk of vkeys.map(parseVerifierKey)) {
    const d = cp.valid.get(vk.name);
    if (!d) continue;
    i++;
    const sig = parseSignedNote(`x\n\n${d.signature}\n`).signatures[0]!;
    const base = join(dir, `cosignature-${i}`);
    try {
      writeFileSync(`${base}.msg`, cosignedMessage(cp.text, d.timestamp));
      writeFileSync(`${base}.sig`, sig.signature.subarray(8));
      writeFileSync(`${base}.pem`, spkiToPem(ed25519Spki(vk.publicKey)));
      writeFileSync(`${base}.line`, `${d.signature}\n`);
    } catch (e) {
      throw new AtoError(`cannot write the cosignature files to ${dir}: ${(e as Error).message}`, "USAGE", { cause: e });
    }
    commands.push(`openssl pkeyutl -verify -pubin -inkey ${base}.pem -rawin -in ${base}.msg -sigfile ${base}.sig   # ${vk.name}, time ${d.timestamp}`);
  }
  return commands;
}
