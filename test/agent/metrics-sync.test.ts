/**
 * The evidence metrics measure what their help says, on a real log (SoftHSM key, real files):
 * ato_evidence_log_bytes is the size of every segment on disk (also what an earlier run
 * wrote), ato_hsm_errors_total counts failed PKCS#11 operations (not checkpoints that had no
 * signer). The log's figures are read just before a scrape's render, not after every cycle;
 * each checkpoint's signing time is observed once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { MetricsSync } from "../../src/agent/metrics-sync.ts";
import { createMetrics } from "../../src/metrics/index.ts";
import { closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";
import { value } from "../metrics/_scrape.ts";

let h: Hsm;
let dir: string | undefined;
beforeAll(async () => { h = await hsm("ed25519"); });
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (dir) removeDir(dir);
  dir = undefined;
});

const onDisk = (d: string) => readdirSync(d).filter((f) => f.endsWith(".log")).reduce((sum, f) => sum + statSync(join(d, f)).size, 0);

describe("[hsm] evidence metrics", () => {
  test("ato_evidence_log_bytes is the size of all segments on disk, also those an earlier run wrote", async () => {
    dir = tempDir();
    const earlier = openLog(dir, h, { checkpointEvery: 10, rotateLines: 25 });
    for (let i = 0; i < 60; i++) earlier.appendRecord("flow", flow(i));
    earlier.close();

    const m = createMetrics();
    const log = openLog(dir, h, { checkpointEvery: 10, rotateLines: 25 });
    const sync = new MetricsSync(m, log, 1024);
    for (let i = 0; i < 30; i++) log.appendRecord("flow", flow(i));
    sync.afterLogChange();
    expect(readdirSync(dir).length).toBeGreaterThan(3); // several rotated segments
    expect(value(await m.registry.metrics(), "ato_evidence_log_bytes")).toBe(onDisk(dir));
    expect(log.counters().bytes).toBeLessThan(onDisk(dir)); // what this run appended is not the size on disk
  });

  test("the log's figures are read at the scrape (beforeScrape), not after each cycle; each checkpoint's signing time is observed once", async () => {
    dir = tempDir();
    const m = createMetrics();
    const log = openLog(dir, h, { checkpointEvery: 10 });
    const sync = new MetricsSync(m, log, 1024);
    for (let i = 0; i < 25; i++) log.appendRecord("flow", flow(i)); // two count checkpoints, signed
    const cycle = { flows: 25, records: 25, reasons: {}, removed: 5, read: true, byProto: new Map([[17, { packets: 40, bytes: 4000 }]]), seconds: 0.002 };
    sync.afterCycle(cycle);
    sync.afterCycle({ ...cycle, read: false, byProto: new Map(), removed: 0, flows: 20 }); // a cycle that did not read the map
    let text = await m.registry.metrics();
    expect(value(text, "ato_packets_total", { proto: "udp", direction: "ingress" })).toBe(40);
    expect(value(text, "ato_flow_map_entries")).toBe(20);
    expect(value(text, "ato_collector_cycle_seconds_count")).toBe(2);
    expect(value(text, "ato_collector_map_reads_total")).toBe(1);
    expect(value(text, "ato_evidence_log_bytes")).toBe(0); // nothing read yet: nobody looked
    expect(value(text, "ato_verified_flows_total")).toBe(0);
    sync.beforeScrape();
    text = await m.registry.metrics();
    expect(value(text, "ato_evidence_log_bytes")).toBe(onDisk(dir));
    expect(log.counters().verified.flow).toBeGreaterThan(10);
    expect(value(text, "ato_verified_flows_total")).toBe(log.counters().verified.flow!);
    expect(value(text, "ato_signing_duration_seconds_count")).toBe(1); // the last signature's time; the one before was not seen
    // Observed at each checkpoint (the agent's onCheckpoint), never twice for the same one.
    for (let i = 0; i < 10; i++) log.appendRecord("flow", flow(i));
    sync.afterCheckpoint();
    sync.beforeScrape();
    sync.afterCheckpoint();
    expect(value(await m.registry.metrics(), "ato_signing_duration_seconds_count")).toBe(2);
  });

  test("ato_hsm_errors_total counts failed PKCS#11 operations; a log without a signer has none", async () => {
    dir = tempDir();
    const none = createMetrics();
    const unsigned = openLog(dir, null, { checkpointEvery: 5 });
    for (let i = 0; i < 12; i++) unsigned.appendRecord("flow", flow(i));
    new MetricsSync(none, unsigned, 1024).afterLogChange();
    expect(unsigned.counters().checkpoints.failed).toBe(2);
    expect(value(await none.registry.metrics(), "ato_hsm_errors_total")).toBe(0);
    unsigned.close();
    removeDir(dir);

    const p = await hsm("ed25519"); // a token of its own, moved away and back
    try {
      dir = tempDir();
      const m = createMetrics();
      const log = openLog(dir, p, { checkpointEvery: 5, reopenSigner: p.open });
      const sync = new MetricsSync(m, log, 1024);
      const tokens = join(p.token.dir, "tokens");
      renameSync(tokens, `${tokens}.away`);
      for (let i = 0; i < 14; i++) log.appendRecord("flow", flow(i)); // three checkpoints, each failing on the token
      renameSync(`${tokens}.away`, tokens);
      sync.afterLogChange();
      expect(value(await m.registry.metrics(), "ato_hsm_errors_total")).toBe(3);
      log.close();
    } finally {
      p.cleanup();
    }
  });
});
