/**
 * Bun's idle GC timer, off in `ato run`. Bun arms a repeating timer on every JavaScript thread (the
 * agent's main thread and its metrics Worker) that starts a garbage collection about once a second;
 * JavaScriptCore collects on allocation anyway, so for the agent, whose code runs once a second, the
 * timer only adds wake-ups and collections (bench-peers at 25 k pps: docs/runtime.md). Bun reads
 * BUN_GC_TIMER_DISABLE once, when its VM starts, and a compiled binary cannot carry an environment
 * variable, so `ato run` re-executes itself once at its very start (before it opens anything, starts
 * a Worker or installs a signal handler) with the variable added: same pid, same argv, same
 * stdin/stdout/stderr, the same environment plus that one variable, so every setting is the same.
 *
 * Bun reads the variable as a boolean: 1, true, yes (any value but 0, false, no, off or empty) turns
 * the timer off. Whenever it is already in the environment, whatever its value, nothing is
 * re-executed: that is the second start, or an operator's choice (BUN_GC_TIMER_DISABLE=0 keeps the
 * timer). When re-executing fails (no /proc, a noexec mount), the agent goes on with the timer and
 * says why in one line. Under `bun src/main.ts run`, /proc/self/exe is bun, and bun is re-executed
 * with its script arguments.
 */
import { execSelfWith, nameAfterArgv0 } from "../kernel/self-exec.ts";
import { log } from "../agent/log.ts";

export const GC_TIMER_VARIABLE = "BUN_GC_TIMER_DISABLE";
/** Set beside it by the re-execution (not a setting: how the second start tells its own variable from an operator's). */
export const REEXEC_MARK = "ATO_GC_TIMER_REEXEC";
/** The values Bun 1.4 reads as false (checked against its collections under BUN_JSC_logGC): the timer stays. */
const KEEPS_TIMER = /^(|0|false|no|off)$/i;

/** True when these command-line arguments start the long-running agent (not its help, not --print-config). */
export function isAgentRun(args: string[]): boolean {
  return args[0] === "run" && !args.some((a) => a === "--help" || a === "-h" || a === "--print-config");
}

/**
 * For `ato run` without BUN_GC_TIMER_DISABLE in its environment: replaces this process with a new
 * start of the same program, the variable added. Returns only when there was nothing to do, or when
 * that failed (after one log line: the agent then runs with the timer). ATO_REEXEC_EXE names another
 * file to execute than this process's own: it exists for the test that makes the exec fail for real.
 */
export function reexecWithoutGcTimer(args = process.argv.slice(2), env = process.env): void {
  if (!isAgentRun(args)) return;
  const given = env[GC_TIMER_VARIABLE];
  if (given !== undefined) {
    nameAfterArgv0(); // the second start is named "exe" (/proc/self/exe) until then
    if (env[REEXEC_MARK] === "1") {
      // Ours, not the operator's: what the agent starts (the forwarder, `ato forward`) gets the environment the
      // operator gave, its GC timer on (measured only for the agent).
      delete env[REEXEC_MARK];
      delete env[GC_TIMER_VARIABLE];
    } else if (KEEPS_TIMER.test(given)) log(`Bun's GC timer stays on: ${GC_TIMER_VARIABLE}=${given} in the environment`);
    return;
  }
  const why = execSelfWith([`${GC_TIMER_VARIABLE}=1`, `${REEXEC_MARK}=1`], env.ATO_REEXEC_EXE || undefined);
  log(`Bun's GC timer stays on: ${why}`);
}

// At import: src/main.ts imports this module first, so this runs before any other module of ato is
// evaluated, and before anything is opened or started.
reexecWithoutGcTimer();
