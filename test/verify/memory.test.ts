/**
 * `ato verify` streams: its peak memory does not grow with the log. A 4 MB and a 64 MB log
 * (same key, same record shape) are verified by the real dist/ato, its peak RSS read as
 * VmHWM at its exit (test/support/vmhwm.py). Bun's own baseline is about 53 MiB and its
 * garbage collector lets a few MiB of per-line garbage pile up before it runs, so the growth
 * allowed is 24 MiB; keeping anything per line would add far more (the 64 MB log has about
 * 240,000 lines). Both also stay under the bound of the hostile-input tests (bounds.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";
import { VERIFY_MEMORY_BOUND_KIB, distVerify } from "../support/ato-verify.ts";

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

async function peakRssKiB(dir: string): Promise<number> {
  const r = await distVerify([dir, "--pubkey", h.pubkeyPath], { timeoutMs: 60_000 });
  expect(r.code).toBe(0);
  return r.peakKiB;
}

describe("ato verify memory", () => {
  test("peak RSS for a 64 MB log is within 24 MiB of that for a 4 MB log", async () => {
    const small = await peakRssKiB(build(4e6));
    const large = await peakRssKiB(build(64e6));
    console.log(`peak RSS of dist/ato verify (VmHWM): ${small} KiB (4 MB log), ${large} KiB (64 MB log)`);
    expect(large - small).toBeLessThan(24 * 1024);
    expect(large).toBeLessThan(VERIFY_MEMORY_BOUND_KIB);
  }, 90_000);
});
