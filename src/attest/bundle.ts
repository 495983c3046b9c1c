/**
 * Writes an operation's bundle into the attest directory:
 *   attest-<op_id>.jsonl       one canonical JSON object per line: the operation, its events, its end
 *   attest-<op_id>.jsonl.sig   the detached signature of those bytes by the PKCS#11 key (Ed25519: 64 raw bytes;
 *                              ECDSA P-256: DER over SHA-256), so OpenSSL checks it alone
 *   attest-<op_id>-sbom.json   what ran (sbom.ts), its SHA-256 named in the JSONL's last line
 * When signing fails the JSONL is still written, saying signature_status "failed" and why, and no .sig: the
 * attest record in the evidence log, covered by the next good checkpoint, is then what vouches for it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { replaceFileSync } from "../log/durable.ts";
import { canonicalize } from "../evidence/index.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import { sha256Hex } from "./digest.ts";
import type { Operation } from "./operation.ts";
import { sbomBytes, sbomBytesAsync, type SbomInputs } from "./sbom.ts";

export interface BundleFiles {
  jsonl: string;
  sig: string;
  sbom: string;
}

export const bundleFiles = (dir: string, opId: string): BundleFiles => ({
  jsonl: join(dir, `attest-${opId}.jsonl`),
  sig: join(dir, `attest-${opId}.jsonl.sig`),
  sbom: join(dir, `attest-${opId}-sbom.json`),
});

export interface BundleResult {
  opId: string;
  name: string;
  kind: string;
  files: BundleFiles;
  bundleSha256: string;
  sbomSha256: string;
  signatureSha256?: string;
  signatureStatus: "ok" | "failed";
  signatureError?: string;
  events: number;
}

export interface BundleOptions {
  dir: string;
  /** The key to sign with; null with `signerError` when it could not be opened. Not closed here. */
  signer: CheckpointSigner | null;
  signerError?: string;
  /** The operation's own outcome (a wrapped command's exit code, an agent's stop). */
  outcome: Record<string, unknown>;
  /** What ran, or its SBOM already made (sbomFor) by a caller that must not wait for dpkg at the end. */
  sbom: Omit<SbomInputs, "opId" | "created"> | Buffer;
}

/** The operation's SBOM, masked, as written. */
export function sbomFor(op: Operation, inputs: Omit<SbomInputs, "opId" | "created">): Buffer {
  return Buffer.from(op.mask.text(sbomBytes({ ...inputs, opId: op.id, created: op.start.toISOString() }).toString()));
}

export async function sbomForAsync(op: Operation, inputs: Omit<SbomInputs, "opId" | "created">): Promise<Buffer> {
  return Buffer.from(op.mask.text((await sbomBytesAsync({ ...inputs, opId: op.id, created: op.start.toISOString() })).toString()));
}

export function writeBundle(op: Operation, o: BundleOptions): BundleResult {
  op.finish();
  const files = bundleFiles(o.dir, op.id);
  try {
    mkdirSync(o.dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new AtoError(`cannot create the attest directory ${o.dir}: ${(e as Error).message}`, "IO", { cause: e });
  }
  const sbom = Buffer.isBuffer(o.sbom) ? o.sbom : sbomFor(op, o.sbom);
  const sbomSha256 = sha256Hex(sbom);
  const end = (status: "ok" | "failed", error?: string) => op.mask.value({
    ...o.outcome,
    type: "end", op_id: op.id, end: op.end!.toISOString(), events: op.events.length,
    sbom: `attest-${op.id}-sbom.json`, sbom_sha256: sbomSha256,
    signature: status === "ok" ? `attest-${op.id}.jsonl.sig` : null,
    signature_status: status, signature_error: error,
    algorithm: o.signer?.algorithm, key_label: o.signer?.keyLabel, key_sha256: o.signer ? sha256Hex(o.signer.publicKeySpkiDer()) : undefined,
  });
  const body = (last: Record<string, unknown>) => Buffer.from([op.header, ...op.events, last].map((l) => canonicalize(l) + "\n").join(""));

  let jsonl = body(end("ok"));
  let signature: Uint8Array | undefined;
  let error = o.signer ? undefined : (o.signerError ?? "no signer");
  if (o.signer) {
    try {
      signature = o.signer.sign(jsonl);
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "HSM")) throw e;
      error = e.message;
    }
  }
  if (!signature) jsonl = body(end("failed", error));

  // Group-readable, as before: the bundle is for whoever may read the audit directory.
  replaceFileSync(files.sbom, sbom, { mode: 0o640 });
  if (signature) replaceFileSync(files.sig, signature, { mode: 0o640 });
  replaceFileSync(files.jsonl, jsonl, { mode: 0o640 });
  return {
    opId: op.id, name: op.name, kind: op.kind, files, bundleSha256: sha256Hex(jsonl), sbomSha256,
    signatureSha256: signature ? sha256Hex(signature) : undefined,
    signatureStatus: signature ? "ok" : "failed", signatureError: signature ? undefined : op.mask.text(error!), events: op.events.length,
  };
}

