/**
 * Shared by the evidence log and verify tests: temp audit directories that are removed even
 * when append-only, a real SoftHSM token with its signer and public key PEM, and `ato
 * verify` run as a subprocess.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EvidenceLog, type EvidenceLogOptions } from "../../src/log/index.ts";
import { openSigner, spkiToPem, type CheckpointSigner } from "../../src/signer/index.ts";
import { createToken, type TestKeyType, type TestToken } from "../support/softhsm.ts";

export const ATO_MAIN = resolve(import.meta.dir, "../../src/main.ts");

export function tempDir(prefix = "ato-evidence-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** rm -rf, after clearing the append-only and immutable attributes the log may have set. */
export function removeDir(dir: string): void {
  Bun.spawnSync(["chattr", "-R", "-a", "-i", dir], { stdout: "ignore", stderr: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}

export interface Hsm {
  token: TestToken;
  /** PEM public key of the token's key, written to a file in the token's directory. */
  pubkeyPath: string;
  open(): CheckpointSigner;
  cleanup(): void;
}

export async function hsm(keyType: TestKeyType = "ed25519"): Promise<Hsm> {
  const token = await createToken({ keyType });
  const open = () => openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
  const s = open();
  const pubkeyPath = join(token.dir, "public.pem");
  writeFileSync(pubkeyPath, spkiToPem(s.publicKeySpkiDer()));
  s.close();
  return { token, pubkeyPath, open, cleanup: () => token.cleanup() };
}

const open = new Set<EvidenceLog>();

/** Opens a log with a signer of `h`, quiet warnings, no timer unless asked. */
export function openLog(dir: string, h: Hsm | null, o: EvidenceLogOptions = {}): EvidenceLog {
  const signer = h ? h.open() : null;
  try {
    const log = EvidenceLog.open({ auditDir: dir, signer, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {}, hostname: "testhost", ...o });
    open.add(log);
    return log;
  } catch (e) {
    signer?.close(); // a log that failed to open leaves its signer with the caller
    throw e;
  }
}

/** Closes logs a failed test left open, so their signers let go of the token (call in afterEach). */
export function closeLogs(): void {
  for (const log of open) {
    try {
      log.close();
    } catch {
      // a test that broke the log on purpose
    }
  }
  open.clear();
}

export function flow(i: number): Record<string, unknown> {
  return { src: "198.18.0.0/24", dst: "198.18.1.0/24", proto: 6, packets: i + 1, bytes: 60 * (i + 1), flow_id: i };
}

export interface VerifyRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** `bun src/main.ts verify …` with --json added, as an operator would run it. */
export function runVerify(args: string[], opts: { json?: boolean } = {}): VerifyRun {
  const json = opts.json ?? true;
  const r = Bun.spawnSync(["bun", ATO_MAIN, "verify", ...args, ...(json ? ["--json"] : [])], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const stdout = r.stdout.toString();
  let parsed: any;
  if (json) {
    try {
      parsed = JSON.parse(stdout);
    } catch {
      parsed = undefined;
    }
  }
  return { code: r.exitCode ?? -1, stdout, stderr: r.stderr.toString(), json: parsed };
}

export function readLines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").slice(0, -1);
}
