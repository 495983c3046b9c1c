/**
 * `ato run` as a child process inside a lab namespace (nsenter --net keeps the host's bpffs
 * visible, unlike ip netns exec), with its log collected and a clean stop.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createToken } from "./softhsm.ts";

export const ATO = ["bun", `${import.meta.dir}/../../src/main.ts`];

export class Agent {
  private log = "";
  private readonly done: Promise<number>;

  private constructor(readonly proc: Subprocess<"ignore", "pipe", "pipe">) {
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) this.log += new TextDecoder().decode(chunk);
    };
    void collect(proc.stderr);
    void collect(proc.stdout);
    this.done = proc.exited;
  }

  /** `command` is how ato is started: `bun src/main.ts` unless given (["dist/ato"], the compiled binary). */
  static start(netns: string, args: string[], env: Record<string, string> = {}, command = ATO): Agent {
    return new Agent(Bun.spawn(["nsenter", `--net=/run/netns/${netns}`, ...command, "run", ...args], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env },
    }));
  }

  get output(): string {
    return this.log;
  }

  /** Waits until the log matches, or the process exits, or the time runs out. */
  async waitFor(re: RegExp, ms = 20000): Promise<void> {
    const until = Date.now() + ms;
    let exited = false;
    void this.done.then(() => { exited = true; });
    while (!re.test(this.log)) {
      if (exited) throw new Error(`ato run exited before ${re}:\n${this.log}`);
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}:\n${this.log}`);
      await Bun.sleep(50);
    }
  }

  /** SIGTERM and the exit code; SIGKILL if it does not stop within the grace period. */
  async stop(signal: "SIGTERM" | "SIGINT" = "SIGTERM", graceMs = 15000): Promise<number> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.done;
    clearTimeout(t);
    return code;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

/** Runs `ato ARGS` to completion inside a namespace; returns exit code and output. */
export function atoIn(netns: string | null, args: string[], env: Record<string, string> = {}) {
  const argv = netns ? ["nsenter", `--net=/run/netns/${netns}`, ...ATO, ...args] : [...ATO, ...args];
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * What `ato run` needs beside an interface: a SoftHSM token with an Ed25519 key, an audit
 * directory and a metrics port. `args` go on the command line; `env` carries the PIN.
 */
export async function agentSetup(tag: string) {
  const token = await createToken({ keyType: "ed25519" });
  const auditDir = mkdtempSync(`/tmp/ato-${tag}-audit-`);
  return {
    token,
    auditDir,
    env: { ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel },
    args: ["--audit-dir", auditDir, "--listen", "127.0.0.1:0", "--interval-ms", "200"],
    /** The evidence records written so far (whole lines), parsed. */
    async records(): Promise<Record<string, any>[]> {
      // Only whole lines: the agent may be writing the last one while the test reads.
      return readdirSync(auditDir).filter((f) => f.endsWith(".log")).sort().flatMap((f) =>
        readFileSync(`${auditDir}/${f}`, "utf8").split("\n").slice(0, -1).filter(Boolean).map((l) => JSON.parse(l)));
    },
    async cleanup() {
      await token.cleanup();
      Bun.spawnSync(["chattr", "-R", "-a", auditDir], { stderr: "ignore" });
      rmSync(auditDir, { recursive: true, force: true });
    },
  };
}
