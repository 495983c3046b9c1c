/**
 * `ato verify` streams: its peak memory does not grow with the log. A 4 MB and a 64 MB log
 * (same key, same record shape) are verified as subprocesses under /usr/bin/time -v. Bun's
 * own baseline is about 60 MiB and its garbage collector lets a few MiB of per-line garbage
 * pile up before it runs, so the bound allows 24 MiB; keeping anything per line would add
 * far more (the 64 MB log has about 240,000 lines).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { ATO_MAIN, closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";

let h: Hsm;
const dirs: string[] = [];

beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => {
  closeLogs();
  dirs.forEach(removeDir);
  h?.cleanup();
});

function build(bytes: number): string {
  const dir = tempDir();
  dirs.push(dir);
  const log = openLog(dir, h, { checkpointEvery: 1000, rotateBytes: 16 << 20 });
  for (let i = 0; log.counters().bytes < bytes; i += 200) log.appendRecords("flow", Array.from({ length: 200 }, (_, k) => flow(i + k)));
  log.close();
  return dir;
}

function peakRssKiB(dir: string): number {
  const r = Bun.spawnSync(["/usr/bin/time", "-v", "bun", ATO_MAIN, "verify", dir, "--pubkey", h.pubkeyPath], { stdout: "ignore", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  return Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr.toString())![1]);
}

describe("ato verify memory", () => {
  test.skipIf(!existsSync("/usr/bin/time"))("peak RSS for a 64 MB log is within 24 MiB of that for a 4 MB log", () => {
    const small = peakRssKiB(build(4e6));
    const large = peakRssKiB(build(64e6));
    console.log(`peak RSS of ato verify: ${small} KiB (4 MB log), ${large} KiB (64 MB log)`);
    expect(large - small).toBeLessThan(24 * 1024);
  }, 60_000);
});
