/**
 * What bench-peers needs from each flow monitor it compares: start it on the lab's server veth,
 * let it finish what it was shown, read back what it accounted for, stop it.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import type { Lab } from "../lab.ts";
import { processTree } from "./cpu.ts";

/** What a watcher accounted for the measured flows, and in how many of its output records. */
export interface Counts { packets: number; bytes: number; records: number }

export interface Side { counts: Record<string, number>; lines: string[] }

export interface WatchContext {
  lab: Lab;
  /** A private directory for this run's files (configs, sockets, logs, exports). */
  dir: string;
  /** Unique per run: names pins and ports. */
  tag: string;
  /** The measured flows' addresses, as the tools print them. */
  match: { src: string; dst: string; dport: number; srcMasked: string; dstMasked: string };
}

export interface Watching {
  /** The tool's top process; its CPU time is summed with its descendants'. */
  pid: number;
  /** Returns once the tool has processed what it was sent (its own counters stop moving). */
  settle(): Promise<void>;
  /** Stops the tool the way its user would (flushing what it holds) and returns its counts of the measured flows. */
  finish(): Promise<Counts>;
  /** What it reported on the side: its own loss counters by name (summed over runs), and warning lines. */
  side(): Side;
  /** Kills whatever is left; safe after finish() and when start failed half-way. */
  kill(): void;
  /**
   * After finish(): CPU seconds (user + system) the tool's process used over its whole life,
   * its export at shutdown included (from wait4's rusage: the process and the children it reaped).
   */
  cpuAtExit(): number | undefined;
}

/** A finished subprocess's lifetime CPU seconds, or undefined while it runs. */
export function exitCpuSeconds(proc: { resourceUsage(): { cpuTime: { user: bigint | number; system: bigint | number } } | undefined }): number | undefined {
  const r = proc.resourceUsage();
  return r ? (Number(r.cpuTime.user) + Number(r.cpuTime.system)) / 1e6 : undefined;
}

export interface Watcher {
  name: string;
  /** What `bytes` means in its counts. */
  bytes: string;
  /** Options beyond the tool's defaults, each needed only to get counts out, and why. */
  options: string[];
  /** Why it cannot run here, or undefined when it can. */
  missing(): string | undefined;
  version(): string;
  /** Shown one burst of the same traffic before the measured one (a warm process). */
  warmup?: boolean;
  start(ctx: WatchContext): Promise<Watching>;
}

/** The first of `programs` that is not installed, as a reason, or undefined. */
export function missingProgram(programs: string[], install: string): string | undefined {
  for (const p of programs) {
    if (!Bun.which(p) && !existsSync(p)) return `${p} is not installed (${install})`;
  }
  return undefined;
}

/** Runs `argv` inside the lab's server namespace (nsenter --net keeps the host's bpffs and /tmp). */
export function inServer(lab: Lab, argv: string[]): string[] {
  return ["nsenter", `--net=/run/netns/${lab.server.ns}`, ...argv];
}

/** Polls `read` until two reads `gapMs` apart agree, or `timeoutMs` passes. */
export async function untilStable(read: () => number | Promise<number>, gapMs = 300, timeoutMs = 20000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = await read();
  for (;;) {
    await Bun.sleep(gapMs);
    const now = await read();
    if (now === last || Date.now() > until) return now;
    last = now;
  }
}

/** Waits until `ok()` holds, or throws with `what` after `timeoutMs`. */
export async function until(ok: () => boolean | Promise<boolean>, what: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** SIGKILL to a process and every descendant it left (pmacctd's plugins outlive a killed core). */
export function killTree(pid: number): void {
  for (const p of processTree(pid).reverse()) {
    try { process.kill(p, "SIGKILL"); } catch { /* already gone */ }
  }
}

/**
 * Starts a watcher process with stdout and stderr appended to `logPath`, never to a pipe: this
 * script blocks in spawnSync (trafgen, curl, pmacct) while watchers run, and a watcher writing
 * warnings into a pipe nobody drains then stalls (pmacctd's plugin did, and stopped answering).
 */
export function spawnLogged(argv: string[], logPath: string, env?: Record<string, string>) {
  const fd = openSync(logPath, "a");
  try {
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: fd, stderr: fd, env: env ? { ...process.env, ...env } : undefined });
    return { proc, log: () => readFileSync(logPath, "utf8") };
  } finally {
    closeSync(fd);
  }
}
