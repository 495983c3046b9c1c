/**
 * The standalone forwarder's /metrics and /readyz: per-sink sent, lag and cursor; a sink that
 * cannot deliver shows its lag, its retries and, past stuck_after_s, fails /readyz by name.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, freePort, logLines, removeDir, spawnForward, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";

let dir: string;
let audit: string;
let procs: ReturnType<typeof spawnForward>[] = [];

beforeEach(() => {
  dir = tempDir("ato-forward-metrics-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(async () => {
  for (const p of procs) {
    p.kill("SIGKILL");
    await p.exited;
  }
  procs = [];
  closeLogs();
  removeDir(dir);
});

function value(text: string, name: string, sink: string): number | undefined {
  const m = new RegExp(`^${name}\\{sink="${sink}"\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("forwarder metrics", () => {
  test("a healthy sink and a dead one: sent, lag, retries, cursor, and /readyz naming the stuck sink", async () => {
    writeLog(audit, 300);
    const port = await freePort();
    const dead = await freePort();
    const cfg = writeConfig(dir, {
      state_dir: join(dir, "state"),
      listen: `127.0.0.1:${port}`,
      stuck_after_s: 1,
      retry: { base_ms: 50, max_ms: 200 },
      poll_ms: 20,
      sinks: [
        { name: "export", type: "file", path: join(dir, "events.ndjson") },
        { name: "fleet", type: "jetstream", servers: [`nats://127.0.0.1:${dead}`], token_env: "ATO_TEST_TOKEN" },
      ],
    });
    const p = spawnForward(["--audit-dir", audit, "--config", cfg], { ATO_TEST_TOKEN: "metrics-secret-77" });
    procs.push(p);
    const total = logLines(audit).length;
    const url = `http://127.0.0.1:${port}`;
    let text = "";
    await waitFor("the export sink to catch up and the fleet sink to be stuck", async () => {
      try {
        text = await (await fetch(`${url}/metrics`)).text();
      } catch {
        return false;
      }
      return value(text, "ato_forward_sent_records_total", "export") === total && (value(text, "ato_forward_retries_total", "fleet") ?? 0) >= 3 && (await fetch(`${url}/readyz`)).status === 503;
    });
    expect(value(text, "ato_forward_lag_records", "export")).toBe(0);
    expect(value(text, "ato_forward_cursor_seq", "export")).toBe(total);
    expect(value(text, "ato_forward_lag_records", "fleet")).toBe(total);
    expect(value(text, "ato_forward_lag_seconds", "fleet")).toBeGreaterThan(0);
    expect(text).toContain('ato_forward_failures_total{sink="fleet",failure="unreachable"}');
    expect(text).not.toContain("metrics-secret-77");
    const ready = await fetch(`${url}/readyz`);
    const body = await ready.text();
    expect(body).toContain(`sink fleet stuck: ${total} records behind`);
    expect(body).not.toContain("sink export");
  });
});
