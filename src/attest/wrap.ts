/**
 * `ato attest run`: an operator's maintenance command as an operation. The watched paths are walked before
 * and after (watch.ts), the command runs with the terminal as it is (its output is not recorded), and the
 * bundle says what it changed, how it ended, and what ran.
 */
import { AtoError } from "../errors.ts";
import type { OpenSignerOptions } from "../signer/index.ts";
import { writeBundle, type BundleResult } from "./bundle.ts";
import { loadHashCache, saveHashCache, type CacheTrust } from "./cache-file.ts";
import { tokenVerifyKey } from "./token-key.ts";
import { attestDir, logBundle, type Logged } from "./ledger.ts";
import { Operation } from "./operation.ts";
import { tryOpenSigner } from "./signing.ts";
import { diff, snapshot, summary } from "./watch.ts";

export interface WrapRequest {
  name: string;
  watch: string[];
  argv: string[];
  auditDir: string;
  signer: OpenSignerOptions;
  bpfObject?: string;
  onWarning?: (m: string) => void;
}

export interface WrapResult {
  exitCode: number;
  bundle: BundleResult;
  logged: Logged;
  cache: { hashed: number; hits: number };
}

export async function attestRun(req: WrapRequest): Promise<WrapResult> {
  if (req.argv.length === 0) throw new AtoError("ato attest run needs a command after --", "USAGE");
  const warn = req.onWarning ?? (() => {});
  const op = Operation.begin(req.name, "wrapped", { argv: req.argv, cwd: process.cwd(), watch: req.watch });
  const cache = loadHashCache(attestDir(req.auditDir), trustOf(req.signer), warn);
  const before = snapshot(req.watch, cache);
  op.add("watch_before", { ...summary(before), cache_hits: cache.hits, files_read: cache.hashed });
  const [hits0, read0] = [cache.hits, cache.hashed];

  const started = performance.now();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(req.argv, { stdio: ["inherit", "inherit", "inherit"] });
  } catch (e) {
    throw new AtoError(`cannot start '${req.argv[0]}': ${(e as Error).message}`, "NOT_FOUND", { cause: e });
  }
  op.add("command_started", { pid: proc.pid });
  const exitCode = await proc.exited;
  op.add("command_exited", { exit_code: exitCode, signal: proc.signalCode ?? null, duration_ms: Math.round(performance.now() - started) });

  const after = snapshot(req.watch, cache, before);
  for (const e of diff(before, after)) op.add(`file_${e.event}`, e);
  op.add("watch_after", { ...summary(after), cache_hits: cache.hits - hits0, files_read: cache.hashed - read0 });

  const { signer, error } = tryOpenSigner(req.signer);
  if (!signer) warn(`the bundle is not signed: ${op.mask.text(error!)}`);
  let bundle: BundleResult;
  try {
    bundle = writeBundle(op, { dir: attestDir(req.auditDir), signer, signerError: error, outcome: { status: exitCode === 0 ? "ok" : "failed", exit_code: exitCode }, sbom: { bpfObject: req.bpfObject, modulePath: req.signer.modulePath } });
  } catch (e) {
    signer?.close();
    throw e;
  }
  saveCache(req.auditDir, cache, signer, warn);
  const logged = logBundle(req.auditDir, signer, bundle, warn);
  return { exitCode, bundle, logged, cache: { hashed: cache.hashed, hits: cache.hits } };
}

/** The token's key, to check the saved hash cache; null (the cache is not used) when the token cannot be read. */
export function trustOf(o: OpenSignerOptions): CacheTrust | null {
  try {
    return tokenVerifyKey({ modulePath: o.modulePath, tokenLabel: o.tokenLabel, keyLabel: o.keyLabel });
  } catch (e) {
    if (e instanceof AtoError && (e.code === "HSM" || e.code === "FFI" || e.code === "NOT_FOUND")) return null;
    throw e;
  }
}

/** A cache that cannot be saved costs the next operation some reading, nothing else: one warning. */
export function saveCache(auditDir: string, cache: Parameters<typeof saveHashCache>[1], signer: Parameters<typeof saveHashCache>[2], warn: (m: string) => void): void {
  try {
    if (!saveHashCache(attestDir(auditDir), cache, signer)) warn("hash cache not saved: no signer to sign it");
  } catch (e) {
    if (!(e instanceof AtoError && (e.code === "IO" || e.code === "HSM"))) throw e;
    warn(`hash cache not saved: ${e.message}`);
  }
}
