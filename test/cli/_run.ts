/** `bun src/main.ts …` as a user runs it: a child process, stdin not a terminal, output without colours. */
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ANSI = /\u001b\[[0-9;]*m/g;

export function ato(args: string[], env: Record<string, string | undefined> = {}) {
  const r = Bun.spawnSync(["bun", MAIN, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } as Record<string, string>, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString().replace(ANSI, ""), stderr: r.stderr.toString().replace(ANSI, "") };
}
