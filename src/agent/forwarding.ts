/**
 * `ato run --forward NAME…`: the agent's forwarder runs as a child process (`ato forward --sink NAME …`
 * on the same audit directory), so its reads, retries and slow sinks can never hold up collection or
 * checkpoint signing on the agent's event loop: the log on disk is the only thing the two share. The
 * child is restarted with backoff when it dies of something a retry can fix; when it stops for a reason
 * that needs a person (a refused credential, a cursor that does not fit the log, a bad config) it stays
 * stopped and the agent says so once, with the child's own last line.
 */
import type { Subprocess } from "bun";
import { EXIT_CODES } from "../errors.ts";

/** Exit codes of `ato forward` that a restart would only repeat. */
const NEEDS_A_PERSON = new Set([EXIT_CODES.USAGE, EXIT_CODES.CONFIG, EXIT_CODES.CORRUPT, EXIT_CODES.PERMISSION, EXIT_CODES.NOT_FOUND]);
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
const STOP_GRACE_MS = 10_000;
/** How long the stop waits for the last lines (the final checkpoint) to reach the sinks. */
const DRAIN_MS = 15_000;

export interface ForwardingOptions {
  auditDir: string;
  configFile: string;
  sinks: string[];
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** The agent's --otlp-endpoint, passed on so the forwarder's batch spans reach the same receiver. */
  otlpEndpoint?: string;
}

/** How to start this same program: the compiled binary, or Bun with the entry script. */
function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

export class Forwarding {
  private child?: Subprocess<"ignore", "ignore", "pipe">;
  private stopping = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private restart?: ReturnType<typeof setTimeout>;
  /** Why the forwarder is not running and will not be restarted, if so. */
  failed?: string;

  private constructor(private readonly o: ForwardingOptions) {}

  static start(o: ForwardingOptions): Forwarding {
    const f = new Forwarding(o);
    f.spawn();
    o.log(`forwarding to ${o.sinks.join(", ")} (child process, config ${o.configFile})`);
    return f;
  }

  private argv(extra: string[] = []): string[] {
    return [...selfCommand(), "forward", "--audit-dir", this.o.auditDir, "--config", this.o.configFile, ...this.o.sinks.flatMap((s) => ["--sink", s]), ...(this.o.otlpEndpoint ? ["--otlp-endpoint", this.o.otlpEndpoint] : []), ...extra];
  }

  private spawn(): void {
    // process.env as it is now (Bun's default is the environment the process started with): without the
    // variables of the agent's own re-execution (src/cli/gc-timer.ts).
    const child = Bun.spawn(this.argv(), { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env } });
    this.child = child;
    let last = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        for (const line of decoder.decode(chunk, { stream: true }).split("\n").filter(Boolean)) {
          last = line;
          this.o.log(`forwarder: ${line.replace(/^ato( forward)?: /, "")}`);
        }
      }
    })();
    void child.exited.then((code) => {
      if (this.stopping) return;
      const why = last || `exit ${code}`;
      if (NEEDS_A_PERSON.has(code)) {
        this.failed = `stopped (exit ${code}): ${why}`;
        this.o.log(`forwarder ${this.failed}; not restarted: fix the cause, then restart ato run`);
        return;
      }
      this.o.log(`forwarder exited (${code}): ${why}; restarting in ${this.backoffMs / 1000} s`);
      this.restart = setTimeout(() => this.spawn(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    });
  }

  /**
   * After the agent's final checkpoint: stops the child (SIGTERM: it saves the cursors of acknowledged
   * batches), then drains what is left, the final checkpoint included, with `ato forward --once` for at
   * most DRAIN_MS. A sink that cannot take it by then gets it from the cursor at the next start.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restart);
    const child = this.child;
    if (child && child.exitCode === null) await ended(child, "SIGTERM", STOP_GRACE_MS);
    if (this.failed) return;
    const drain = Bun.spawn(this.argv(["--once"]), { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env } });
    const code = await ended(drain, "SIGKILL", DRAIN_MS, false);
    if (code !== 0) this.o.log(`forwarder: the last lines were not all delivered at stop (${code === null ? `no answer within ${DRAIN_MS / 1000} s` : `exit ${code}`}: ${(await new Response(drain.stderr).text()).trim().split("\n").at(-1) ?? ""}); the next start sends them from the cursor`);
  }
}

/** Waits for a child to end; after `ms` sends `signal` (and SIGKILL after that). Null if it had to be killed. */
async function ended(p: Subprocess<"ignore", "ignore", "pipe">, signal: "SIGTERM" | "SIGKILL", ms: number, signalFirst = true): Promise<number | null> {
  if (signalFirst) p.kill(signal);
  let killed = false;
  const t = setTimeout(() => { killed = true; p.kill(signalFirst ? "SIGKILL" : signal); }, ms);
  const code = await p.exited;
  clearTimeout(t);
  return killed ? null : code;
}
