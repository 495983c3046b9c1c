/**
 * The forwarder core against the real writer's log and the NDJSON file sink: every line
 * arrives verbatim and in order across rotated segments, a second run sends only what is new,
 * and a cursor that does not fit the log is refused loudly.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { appendFlows, closeLogs, forward, logLines, readLines, removeDir, spawnForward, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";

let dir: string;
let audit: string;
let out: string;

beforeEach(() => {
  dir = tempDir("ato-forward-core-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  out = join(dir, "events.ndjson");
});
afterEach(() => {
  closeLogs();
  removeDir(dir);
});

function config(extra: Record<string, unknown> = {}) {
  return writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 70 }, sinks: [{ name: "export", type: "file", path: out }], ...extra });
}

describe("ato forward to an NDJSON file", () => {
  test("every line of every segment arrives once, verbatim, in seq order, with origin, seq, kind and class", async () => {
    const log = writeLog(audit, 1000, { rotateLines: 300 });
    const r = await forward(["--audit-dir", audit, "--config", config(), "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    expect(readdirRotated(audit)).toBeGreaterThan(1);
    const events = readLines(out).map((l) => JSON.parse(l));
    expect(events.map((e) => e.line)).toEqual(lines);
    expect(events.map((e) => e.seq)).toEqual(lines.map((_, i) => i));
    const origin = log.status().origin;
    for (const e of events) {
      const rec = JSON.parse(e.line);
      expect(e).toMatchObject({ origin, kind: rec.kind, class: rec.class, ts: rec.ts, id: `${origin}/${rec.seq}` });
    }
  });

  test("a second run sends only the lines written since, from the saved cursor", async () => {
    const log = writeLog(audit, 200, { rotateLines: 150 });
    expect((await forward(["--audit-dir", audit, "--config", config(), "--once"])).code).toBe(0);
    const first = readLines(out).length;
    appendFlows(log, 300, 200);
    expect((await forward(["--audit-dir", audit, "--config", config(), "--once"])).code).toBe(0);
    const events = readLines(out).map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThan(first);
    expect(events.map((e) => e.line)).toEqual(logLines(audit));
    const cursor = JSON.parse(readFileSync(join(dir, "state", "export.cursor.json"), "utf8"));
    expect(cursor.seq).toBe(events.length);
  });

  test("a cursor past the end of the log (the log was replaced) is refused, nothing is sent", async () => {
    writeLog(audit, 300);
    expect((await forward(["--audit-dir", audit, "--config", config(), "--once"])).code).toBe(0);
    closeLogs();
    removeDir(audit);
    mkdirSync(audit);
    writeLog(audit, 10); // a new, shorter log in the same place
    const before = readLines(out).length;
    const r = await forward(["--audit-dir", audit, "--config", config(), "--once"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("sink export");
    expect(r.stderr).toContain("the log was replaced or truncated");
    expect(r.stderr).toContain("refusing to guess");
    expect(readLines(out).length).toBe(before);
  });

  test("a cursor into a segment that is gone while later ones remain is refused", async () => {
    const log = writeLog(audit, 200, { rotateLines: 100 });
    expect((await forward(["--audit-dir", audit, "--config", writeConfig(dir, { state_dir: join(dir, "state"), sinks: [{ name: "export", type: "file", path: out, batch: { records: 5 } }] }), "--once"])).code).toBe(0);
    const cursor = join(dir, "state", "export.cursor.json");
    const c = JSON.parse(readFileSync(cursor, "utf8"));
    writeFileSync(cursor, JSON.stringify({ ...c, segment: 1, offset: 100, seq: 1 }));
    appendFlows(log, 10);
    renameSync(join(audit, "signed_evidence.000001.log"), join(dir, "moved-away.log"));
    const r = await forward(["--audit-dir", audit, "--config", config(), "--once"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("segment 1");
    expect(r.stderr).toContain("is gone");
  });

  test("a running forwarder follows a live log through rotations: every line once, in order", async () => {
    const log = writeLog(audit, 100, { rotateLines: 250, checkpointEvery: 50 });
    const cfg = writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 64, linger_ms: 5 }, poll_ms: 5, sinks: [{ name: "export", type: "file", path: out }] });
    const p = spawnForward(["--audit-dir", audit, "--config", cfg]);
    try {
      for (let i = 0; i < 40; i++) {
        appendFlows(log, 50, 100 + i * 50); // a checkpoint after each: rotations while the forwarder reads
        await Bun.sleep(10);
      }
      const total = logLines(audit).length;
      expect(readdirRotated(audit)).toBeGreaterThan(5);
      await waitFor("the forwarder to catch up", () => {
        try {
          return JSON.parse(readFileSync(join(dir, "state", "export.cursor.json"), "utf8")).seq === total;
        } catch {
          return false;
        }
      }).catch(async (e) => {
        p.kill("SIGTERM");
        const cursor = readFileSync(join(dir, "state", "export.cursor.json"), "utf8");
        throw new Error(`${e.message}; cursor ${cursor}; files ${require("node:fs").readdirSync(audit).join(" ")}; forwarder said: ${await new Response(p.stderr).text()}`);
      });
    } finally {
      p.kill("SIGTERM");
      await p.exited;
    }
    expect(readLines(out).map((l) => JSON.parse(l).line)).toEqual(logLines(audit));
  });

  test("a bad config is a clear error: an inline token is refused, the token is never echoed", async () => {
    const path = writeConfig(dir, { state_dir: join(dir, "state"), sinks: [{ name: "fleet", type: "jetstream", servers: ["nats://127.0.0.1:1"], token: "s3cr3t-token-value" }] });
    const r = await forward(["--audit-dir", audit, "--config", path, "--once"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('"token" may not be written in the config file');
    expect(r.stderr + r.stdout).not.toContain("s3cr3t-token-value");
    expect(existsSync(join(dir, "state"))).toBe(false);
  });
});

function readdirRotated(d: string): number {
  return require("node:fs").readdirSync(d).filter((n: string) => /^signed_evidence\.\d+\.log$/.test(n)).length;
}
