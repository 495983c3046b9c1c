/** `ato witness serve` as a child process (inside a lab namespace, or on the host's loopback), with its URL read from its log. */
import type { Subprocess } from "bun";
import { ATO, atoIn } from "../support/agent.ts";

export class WitnessProcess {
  private log = "";
  url = "";

  private constructor(readonly proc: Subprocess<"ignore", "pipe", "pipe">) {
    void (async () => {
      for await (const c of proc.stderr) this.log += new TextDecoder().decode(c);
    })();
  }

  /** `ato witness init`; returns the verifier key it printed. */
  static init(netns: string, state: string, name: string): string {
    const r = atoIn(netns, ["witness", "init", "--state", state, "--name", name]);
    if (r.code !== 0) throw new Error(`ato witness init failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** netns null: the host's own loopback. */
  static async start(netns: string | null, state: string, logs: string[], listen = "127.0.0.1:0", extra: string[] = []): Promise<WitnessProcess> {
    const argv = [...(netns ? ["nsenter", `--net=/run/netns/${netns}`] : []), ...ATO, "witness", "serve", "--state", state, "--listen", listen, ...logs.flatMap((l) => ["--log", l]), ...extra];
    const w = new WitnessProcess(Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
    const until = Date.now() + 20_000;
    while (!/ on (http:\/\/\S+)\/add-checkpoint/.test(w.log)) {
      if (w.proc.exitCode !== null || Date.now() > until) throw new Error(`ato witness serve did not start:\n${w.log}`);
      await Bun.sleep(50);
    }
    w.url = / on (http:\/\/\S+)\/add-checkpoint/.exec(w.log)![1]!;
    return w;
  }

  get output(): string {
    return this.log;
  }

  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill(signal);
    await this.proc.exited;
  }
}
