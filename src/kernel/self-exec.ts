/**
 * Starting this same process over with one more environment variable: execve of its own executable
 * with the argv and the environment the kernel gave it (read back from /proc/self/cmdline and
 * /proc/self/environ, as bytes: neither need be UTF-8, and neither is Bun's rewritten process.argv
 * or process.env). The pid stays, and so do the open file descriptors without FD_CLOEXEC. The kernel
 * names the new image after the file executed, "exe" for /proc/self/exe, which ps, top and pgrep would
 * show: the new start takes its name back (nameAfterArgv0).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { constants } from "node:os";
import { execve } from "../../ffi/libc.ts";

/** The NUL-separated strings of a /proc file, as bytes. */
function nulSeparated(bytes: Buffer): Buffer[] {
  const items: Buffer[] = [];
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(0, start);
    items.push(bytes.subarray(start, end < 0 ? bytes.length : end));
    start = end < 0 ? bytes.length : end + 1;
  }
  return items;
}

const errnoName = (n: number) => Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

/**
 * Re-executes `exe` (this process's own executable unless told otherwise) with the same argv and the
 * environment plus `variables` ("NAME=value" each). Returns only when that failed: why, in a few words.
 */
export function execSelfWith(variables: string[], exe = "/proc/self/exe"): string {
  let argv: Buffer[], environ: Buffer[];
  try {
    argv = nulSeparated(readFileSync("/proc/self/cmdline"));
    environ = nulSeparated(readFileSync("/proc/self/environ"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    return `cannot read this process's command line from /proc (${code})`;
  }
  // Never twice: an environment that already has one of the variables is a start this made (or an operator's
  // choice), whatever a runtime shows of it in process.env.
  const names = variables.map((v) => Buffer.from(v.slice(0, v.indexOf("=") + 1)));
  const had = names.find((n) => environ.some((e) => e.subarray(0, n.length).equals(n)));
  if (had) return `already in the environment: ${had.toString("latin1").slice(0, -1)}`;
  return `execve ${exe}: ${errnoName(-execve(exe, argv, [...environ, ...variables.map((v) => Buffer.from(v))]))}`;
}

/**
 * After a start through /proc/self/exe, this process is named "exe": names it (its main thread, which
 * ps and pgrep show) after its argv[0] again, as the kernel had at its first start. Nothing otherwise.
 */
export function nameAfterArgv0(): void {
  try {
    if (readFileSync("/proc/self/comm", "latin1") !== "exe\n") return;
    const argv0 = nulSeparated(readFileSync("/proc/self/cmdline"))[0];
    if (argv0?.length) writeFileSync("/proc/self/comm", basename(argv0.toString("latin1")).slice(0, 15), "latin1");
  } catch (e) {
    // No /proc (then there was no start through /proc/self/exe either), or a read-only one: the name stays.
    if (!["ENOENT", "EROFS", "EACCES", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  }
}
