/**
 * CPU time from /proc, for "CPU seconds per million packets".
 *
 * A tool's own cost is utime + stime of its process and every descendant (pmacctd forks a core
 * process and one per plugin). Work the kernel does in softirq context — the XDP program, the
 * copy into a packet socket's ring — is charged to no process, so it is reported separately as
 * the machine's softirq time over the same window.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK = 100; // USER_HZ: /proc reports times in 1/100 s on every Linux architecture

/** Fields of /proc/PID/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // exited between listing and reading
  }
}

/** The PID and every live descendant. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = Number(statFields(pid)?.[1]);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (p: number) => { out.push(p); for (const c of children.get(p) ?? []) walk(c); };
  walk(root);
  return out;
}

/**
 * CPU seconds of the process tree under `root` so far: each live process's utime + stime and
 * what it already reaped of its children (cutime + cstime). The same account as the rusage
 * wait4 gives at the root's exit, so "at exit less now" is only what ran in between: a tool
 * that ran short-lived helpers at its start (ato: lsattr, chattr, git) is not charged for
 * them in a later window.
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // stat fields 14-17: utime, stime, cutime, cstime
  }
  return ticks / TICK;
}

/** Softirq seconds summed over all CPUs since boot (/proc/stat, 7th value of the "cpu" line). */
export function softirqSeconds(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  return Number(cpu[7]) / TICK;
}

/**
 * CPU seconds per thread of the process tree under `root`, by "pid/comm user" and "pid/comm sys" (a Bun process: its main JS thread,
 * JIT and GC helpers, the metrics Worker): where a watcher's CPU goes, for `bench-peers --threads`.
 */
export function threadCpuSeconds(root: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of processTree(root)) {
    let tids: string[];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      let s: string;
      try { s = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"); } catch { continue; }
      const comm = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const name = `${pid}/${comm}`;
      out.set(`${name} user`, (out.get(`${name} user`) ?? 0) + Number(f[11]) / TICK);
      out.set(`${name} sys`, (out.get(`${name} sys`) ?? 0) + Number(f[12]) / TICK);
    }
  }
  return out;
}

/**
 * Waits until the tree under `root` has used no CPU for `quietMs` (at most `maxMs`): the work a tool does after
 * it says it is ready (ato: its first cycle and the JIT's first compiles, ~0.3-0.4 s of CPU in the first 0.4 s
 * after "attached on") then falls before a window, not into it. Returns the seconds waited.
 */
export async function settledCpu(root: number, quietMs = 300, maxMs = 10_000): Promise<number> {
  const t0 = performance.now();
  let last = treeCpuSeconds(root), since = t0;
  while (performance.now() - t0 < maxMs) {
    await Bun.sleep(50);
    const now = treeCpuSeconds(root);
    if (now !== last) { last = now; since = performance.now(); }
    else if (performance.now() - since >= quietMs) break;
  }
  return (performance.now() - t0) / 1000;
}
