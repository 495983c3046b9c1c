/**
 * Starting this same process over with one more environment variable: execve of its own executable
 * with the argv and the environment the kernel gave it (read back from /proc/self/cmdline and
 * /proc/self/environ, as bytes: neither need be UTF-8, and neither is Bun's rewritten process.argv
 * or process.env). The pid stays, and so do the open file descriptors without FD_CLOEXEC.
 */
import { readFileSync } from "node:fs";
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
 * environment plus `variable` ("NAME=value"). Returns only when that failed: why, in a few words.
 */
export function execSelfWith(variable: string, exe = "/proc/self/exe"): string {
  let argv: Buffer[], environ: Buffer[];
  try {
    argv = nulSeparated(readFileSync("/proc/self/cmdline"));
    environ = nulSeparated(readFileSync("/proc/self/environ"));
  } catch (e) {
    return `cannot read this process's command line from /proc (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  return `execve ${exe}: ${errnoName(-execve(exe, argv, [...environ, Buffer.from(variable)]))}`;
}
