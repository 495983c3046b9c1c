/**
 * The real `dist/ato verify` as a child process, measured: its exit code, output, and peak
 * resident memory (VmHWM read at its exit, test/support/vmhwm.py), with a time limit after
 * which it is killed and reported as hung.
 *
 *   const r = await distVerify([dir, "--pubkey", pem], { timeoutMs: 20_000 });
 *   r.code, r.json, r.peakKiB, r.hung
 *
 * `prefix` runs it through another command first (e.g. setpriv, to run as another user).
 *
 * Run `bash scripts/build.sh` first: the binary is what an incident responder runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The peak RSS `ato verify` must stay under on any input: Bun's baseline (about 53 MiB) plus
 * what the limits of src/evidence/FORMAT.md allow (a 1 MiB line, a bounded parse).
 */
export const VERIFY_MEMORY_BOUND_KIB = 96 * 1024;

/** The binary under test; ATO_BIN runs another build (an older one, to compare). */
export const DIST_ATO = process.env.ATO_BIN ?? resolve(import.meta.dir, "../../dist/ato");
const VMHWM = resolve(import.meta.dir, "vmhwm.py");

export interface DistRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
  /** VmHWM of the ato process at its exit, KiB (-1 if it never got there). */
  peakKiB: number;
  hung: boolean;
}

export async function distVerify(args: string[], o: { timeoutMs?: number; json?: boolean; prefix?: string[] } = {}): Promise<DistRun> {
  if (!existsSync(DIST_ATO)) throw new Error(`${DIST_ATO} is missing: run bash scripts/build.sh`);
  const dir = mkdtempSync(join(tmpdir(), "ato-vmhwm-"));
  const out = join(dir, "peak");
  const json = o.json ?? true;
  try {
    const p = Bun.spawn(["python3", VMHWM, out, ...(o.prefix ?? []), DIST_ATO, "verify", ...args, ...(json ? ["--json"] : [])], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      p.kill("SIGKILL"); // the tracer dies, and PTRACE_O_EXITKILL takes ato with it
    }, o.timeoutMs ?? 30_000);
    const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    await p.exited;
    clearTimeout(timer);
    const [peak, code] = existsSync(out) ? readFileSync(out, "utf8").trim().split(" ").map(Number) : [-1, -1];
    let parsed: any;
    if (json) {
      try {
        parsed = JSON.parse(stdout);
      } catch {
        parsed = undefined;
      }
    }
    return { code: code!, stdout, stderr, json: parsed, peakKiB: peak!, hung };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
