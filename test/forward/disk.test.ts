/**
 * The cursor's filesystem full (a small tmpfs): the batch already delivered is not lost and
 * the error says what failed; a running forwarder pauses until the cursor can be saved and
 * then goes on; `--once` exits with the I/O error. Either way a restart re-sends at most the
 * batch whose cursor was not saved.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fillDisk, mountTmpfs } from "../support/disk.ts";
import { closeLogs, forward, logLines, readLines, removeDir, spawnForward, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";

let dir: string;
let audit: string;
let state: string;
let out: string;
let procs: ReturnType<typeof spawnForward>[] = [];

beforeEach(() => {
  dir = tempDir("ato-forward-disk-");
  audit = join(dir, "audit");
  state = join(dir, "state");
  out = join(dir, "events.ndjson");
  mkdirSync(audit);
  mkdirSync(state);
  mountTmpfs(state, "size=64k", "ato-forward-test");
});
afterEach(async () => {
  for (const p of procs) {
    p.kill("SIGKILL");
    await p.exited;
  }
  procs = [];
  Bun.spawnSync(["umount", state]);
  closeLogs();
  removeDir(dir);
});

/** Fills the state tmpfs to the last byte, and gives the space back. */
const fill = () => fillDisk(join(state, "filler"));
const unfill = () => rmSync(join(state, "filler"));

const cfg = () => writeConfig(dir, { state_dir: state, batch: { records: 100, linger_ms: 0 }, retry: { base_ms: 50, max_ms: 300 }, poll_ms: 20, sinks: [{ name: "export", type: "file", path: out }] });

/** Every line of the log is in the export; each extra copy is one of the re-sent batch, identical. */
function expectAllOnceOrResent(maxExtra: number): void {
  const lines = logLines(audit);
  const events = readLines(out).map((l) => JSON.parse(l));
  const seen = new Map<number, string>();
  for (const e of events) {
    if (seen.has(e.seq)) expect(e.line).toBe(seen.get(e.seq)!);
    seen.set(e.seq, e.line);
  }
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual(lines.map((_, i) => i));
  expect(events.length - lines.length).toBeLessThanOrEqual(maxExtra);
}

describe("the cursor's disk is full", () => {
  test("--once: exits 74 naming the cursor and the full disk; a later run sends the rest", async () => {
    writeLog(audit, 450);
    fill();
    const r = await forward(["--audit-dir", audit, "--config", cfg(), "--once"]);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain(`cannot save the forwarding cursor ${join(state, "export.cursor.json")}: no space left on the device`);
    expect(readLines(out).length).toBe(100); // the first batch went out; nothing after its cursor failed
    unfill();
    const again = await forward(["--audit-dir", audit, "--config", cfg(), "--once"]);
    expect(again.code).toBe(0);
    expectAllOnceOrResent(100);
  });

  test("running: forwarding pauses while the cursor cannot be saved, and resumes when space is back", async () => {
    writeLog(audit, 450);
    fill();
    const p = spawnForward(["--audit-dir", audit, "--config", cfg()]);
    procs.push(p);
    await Bun.sleep(1000);
    expect(readLines(out).length).toBe(100); // paused after one batch, not racing ahead unsaved
    unfill();
    const total = logLines(audit).length;
    await waitFor("the cursor to reach the end", () => {
      try {
        return JSON.parse(readFileSync(join(state, "export.cursor.json"), "utf8")).seq === total;
      } catch {
        return false;
      }
    });
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    const stderr = await new Response(p.stderr).text();
    expect(stderr).toContain("no space left on the device; forwarding pauses until it can be saved");
    expect(stderr).toContain("cursor saved again");
    expectAllOnceOrResent(0);
  });
});
