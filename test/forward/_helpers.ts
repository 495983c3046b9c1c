/**
 * Shared by the forwarder tests: an evidence log written by the real writer (no signer: the
 * forwarder does not care), `ato forward` run as a subprocess, free loopback ports.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { ATO_MAIN, flow, openLog } from "../log/_helpers.ts";
import type { EvidenceLog } from "../../src/log/index.ts";

export { ATO_MAIN, closeLogs, readLines, removeDir, tempDir } from "../log/_helpers.ts";

/** A log of `n` flow records (plus its segment and checkpoint lines), rotated every `rotateLines`. */
export function writeLog(dir: string, n: number, o: { rotateLines?: number; checkpointEvery?: number } = {}): EvidenceLog {
  const log = openLog(dir, null, { rotateLines: o.rotateLines ?? 1_000_000, checkpointEvery: o.checkpointEvery ?? 100 });
  appendFlows(log, n);
  return log;
}

export function appendFlows(log: EvidenceLog, n: number, from = 0): void {
  for (let i = 0; i < n; i += 500) log.appendRecords("flow", Array.from({ length: Math.min(500, n - i) }, (_, k) => flow(from + i + k)));
  log.checkpoint();
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, "forward.json");
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function forward(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const p = Bun.spawn(["bun", ATO_MAIN, "forward", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

export function spawnForward(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn(["bun", ATO_MAIN, "forward", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
}

/** A port the kernel says is free now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every line of every segment of the log, in seq order (what the forwarded copy must equal). */
export function logLines(dir: string): string[] {
  const { listLogFiles } = require("../../src/log/index.ts") as typeof import("../../src/log/index.ts");
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  const files = listLogFiles(dir);
  const paths = [...files.rotated.map((r) => r.path), ...(files.active ? [files.active] : [])];
  return paths.flatMap((p) => readFileSync(p, "utf8").split("\n").slice(0, -1));
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
