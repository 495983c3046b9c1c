/**
 * The forwarder's memory does not grow with the lag: the log on disk is the buffer and only
 * one batch is held. A sink 20,000 lines behind and one 200,000 lines behind are drained by
 * `ato forward --once` under /usr/bin/time -v; the larger peak stays within 32 MiB of the
 * smaller. Bun's allocator grows its RSS to a plateau (about 20 MiB over the small run's, with
 * the JS heap itself under 12 MiB throughout); keeping the lag in memory would add more than
 * the export's 40 MiB, twice that as JS strings.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ATO_MAIN, closeLogs, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  closeLogs();
  dirs.forEach(removeDir);
});

function drain(records: number): { kib: number; bytes: number } {
  const dir = tempDir("ato-forward-mem-");
  dirs.push(dir);
  const audit = join(dir, "audit");
  mkdirSync(audit);
  writeLog(audit, records, { checkpointEvery: 1000 }).close();
  const out = join(dir, "events.ndjson");
  const cfg = writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 1000 }, sinks: [{ name: "export", type: "file", path: out }] });
  const r = Bun.spawnSync(["/usr/bin/time", "-v", "bun", ATO_MAIN, "forward", "--audit-dir", audit, "--config", cfg, "--once"], { stdout: "ignore", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  const cursor = JSON.parse(readFileSync(join(dir, "state", "export.cursor.json"), "utf8"));
  expect(cursor.seq).toBeGreaterThan(records);
  return { kib: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr.toString())![1]), bytes: statSync(out).size };
}

describe("forwarder memory", () => {
  test.skipIf(!existsSync("/usr/bin/time"))("peak RSS draining 200,000 lines is within 32 MiB of draining 20,000", () => {
    const small = drain(20_000);
    const large = drain(200_000);
    expect(large.bytes).toBeGreaterThan(40 << 20); // what holding the lag would cost
    if (process.env.ATO_TEST_VERBOSE) console.log(`peak RSS: ${small.kib} KiB (20k), ${large.kib} KiB (200k)`);
    expect(large.kib - small.kib).toBeLessThan(32 * 1024);
  }, 120_000);
});
