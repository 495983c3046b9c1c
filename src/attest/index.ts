/** Attestation: a signed bundle (JSONL, detached signature, SBOM-lite) for each operation, its digest in the evidence log. */
export { Operation, checkOpId, type OperationKind } from "./operation.ts";
export { writeBundle, bundleFiles, type BundleResult, type BundleFiles } from "./bundle.ts";
export { HashCache } from "./hash-cache.ts";
export { SecretMask, HASHED_FIELDS, MASK } from "./secrets.ts";
export { attestDir, appendAttest, flushPending, logBundle, type Logged } from "./ledger.ts";
export { attestRun, type WrapRequest, type WrapResult } from "./wrap.ts";
export { verifyBundle, type AttestReport, type AttestFinding } from "./check.ts";
export { tokenPublicKey } from "./token-key.ts";
export { actionSettings, attestedCommands, type ActionSettings } from "./commands.ts";
