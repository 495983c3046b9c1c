/**
 * The Splunk HEC sink against a receiver that enforces HEC's published rules (no Splunk
 * server runs here): indexer acknowledgement, a batch refused as too large split until it
 * fits, 503 with Retry-After honoured, a wrong token refused once and never printed.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";
import { startHec, type HecReceiver } from "./_hec.ts";

const TOKEN = "8c1f6b1e-hec-token-3a7d";
let dir: string;
let audit: string;
let hec: HecReceiver | undefined;

beforeEach(() => {
  dir = tempDir("ato-forward-hec-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(() => {
  hec?.stop();
  hec = undefined;
  closeLogs();
  removeDir(dir);
});

function run(records: number, env: Record<string, string> = { ATO_TEST_HEC_TOKEN: TOKEN }) {
  const cfg = writeConfig(dir, {
    state_dir: join(dir, "state"),
    batch: { records },
    retry: { base_ms: 50, max_ms: 500 },
    sinks: [{ name: "splunk", type: "splunk-hec", url: hec!.url, token_env: "ATO_TEST_HEC_TOKEN", indexer_ack: true, host: "testhost" }],
  });
  return forward(["--audit-dir", audit, "--config", cfg, "--once"], env);
}

function expectAllInOrder(): void {
  const lines = logLines(audit);
  expect(hec!.events.map((e) => e.event.line)).toEqual(lines);
  expect(hec!.events.map((e) => e.fields.seq)).toEqual(lines.map((_, i) => i));
}

describe("Splunk HEC sink", () => {
  test("delivered only once Splunk confirms the ackId: every line, verbatim, in order", async () => {
    hec = startHec({ token: TOKEN, maxBytes: 1 << 20, acks: true });
    writeLog(audit, 600);
    const r = await run(250);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expectAllInOrder();
    expect(hec.requests.filter((q) => q.path === "/services/collector/ack").length).toBeGreaterThanOrEqual(3);
  });

  test("413: the batch is split until each part fits, nothing lost or reordered", async () => {
    hec = startHec({ token: TOKEN, maxBytes: 24 * 1024, acks: true });
    writeLog(audit, 500);
    const r = await run(500);
    expect(r.code).toBe(0);
    expect(hec.requests.some((q) => q.status === 413)).toBe(true);
    expectAllInOrder();
  });

  test("503 with Retry-After: the next try waits at least that long", async () => {
    hec = startHec({ token: TOKEN, maxBytes: 1 << 20, acks: true });
    hec.busy(2, 1);
    writeLog(audit, 100);
    const r = await run(1000);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Server is busy");
    const ev = hec.requests.filter((q) => q.path === "/services/collector/event");
    expect(ev.map((q) => q.status).slice(0, 3)).toEqual([503, 503, 200]);
    expect(ev[1]!.at - ev[0]!.at).toBeGreaterThanOrEqual(990);
    expect(ev[2]!.at - ev[1]!.at).toBeGreaterThanOrEqual(990);
    expectAllInOrder();
  });

  test("403 for a wrong token: one request, a clear error, exit 77, the token never printed", async () => {
    hec = startHec({ token: TOKEN, maxBytes: 1 << 20, acks: true });
    writeLog(audit, 50);
    const r = await run(100, { ATO_TEST_HEC_TOKEN: "wrong-token-5e5e" });
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink splunk: Splunk HEC answered 403");
    expect(r.stderr).toContain("Invalid token");
    expect(hec.requests.length).toBe(1);
    expect(r.stderr + r.stdout).not.toContain("wrong-token-5e5e");
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });
});
