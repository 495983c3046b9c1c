/**
 * Retention as `ato run` wires it, with the real peers its conditions read: a witness server on
 * loopback cosigning through the real submitter, a pass after each rotation (RetentionTask); and
 * the real `ato forward` whose durable cursor allows a deletion, then forwards the retire records.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { listLogFiles } from "../../src/log/index.ts";
import { Retainer, RetentionTask, policyFrom } from "../../src/retain/index.ts";
import { spkiToPem } from "../../src/signer/index.ts";
import { Witness, WitnessState, initWitness, parseLogSpec, serveWitness, witnessMetrics, type WitnessServer } from "../../src/witness/index.ts";
import { Submitter, parseWitnessTarget } from "../../src/witness/submit/index.ts";
import { forward, writeConfig } from "../forward/_helpers.ts";
import { closeLogs, hsm, openLog, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";
import { records, smallLog } from "./_log.ts";

let h: Hsm;
const dirs: string[] = [];
const servers: WitnessServer[] = [];
beforeAll(async () => { h = await hsm(); });
afterAll(() => h.cleanup());
afterEach(async () => {
  closeLogs();
  for (const s of servers.splice(0)) await s.stop();
  dirs.splice(0).forEach(removeDir);
});

function dir(): string {
  const d = tempDir("ato-retain-run-");
  dirs.push(d);
  return d;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await Bun.sleep(25)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

test("in the agent's wiring: after a rotation, a segment a real witness cosigned past is retired with that cosignature named", async () => {
  const d = dir();
  const audit = join(d, "audit");
  mkdirSync(audit);
  const origin = "ato/testhost/retain";
  const pem = join(d, "log.pem");
  writeFileSync(pem, spkiToPem(h.open().publicKeySpkiDer()));
  const key = initWitness(join(d, "witness"), "witness.test/retain-run");
  const wstate = WitnessState.open(join(d, "witness"));
  const server = serveWitness(new Witness(key, parseLogSpec(`${origin}=${pem}`), wstate), witnessMetrics(() => 1, () => wstate.size), "127.0.0.1:0");
  servers.push(server);
  const spec = `${server.url}=${key.vkey}`;
  let submitter: Submitter | undefined;
  let task: RetentionTask | undefined;
  const said: string[] = [];
  const clock = { now: Date.parse("2026-01-01T00:00:00.000Z") }; // records long past a 1 d rule
  const log = openLog(audit, h, { rotateLines: 20, checkpointEvery: 5, origin, now: () => new Date(clock.now), onCheckpoint: (c) => { submitter?.onCheckpoint(c); task?.afterCheckpoint(); } });
  submitter = new Submitter({ auditDir: audit, witnesses: [parseWitnessTarget(spec)], registry: new Registry(), append: (k, data) => log.appendRecord(k, data as unknown as Record<string, unknown>), warn: () => {} });
  const policy = policyFrom({ rules: ["internal=1d"], forwardSinks: [], witnesses: [spec] });
  expect(policy.requireWitness).toBe(true); // the default with a witness configured
  task = new RetentionTask({ retainer: new Retainer(audit, policy), log, everyMs: 3_600_000, say: (m) => said.push(m) });
  try {
    for (let round = 0; round < 12; round++) {
      records({ log, clock }, 5);
      log.checkpoint("manual");
      expect(await submitter.drain(10_000)).toBe(true);
    }
    // Passes follow rotations; one may have planned before the last cosignature came back: the cadence's pass (kick) follows.
    await until("segments 1–3 retired", () => { task!.kick(); return !listLogFiles(audit).rotated.some((r) => r.segment <= 3); });
    await task.stop();
    expect(said.filter((m) => m.startsWith("retention: retired")).length).toBeGreaterThanOrEqual(3);
    const files = listLogFiles(audit);
    const recs = [...files.rotated.map((r) => r.path), files.active!].flatMap((p) => readFileSync(p, "utf8").split("\n")).filter((l) => l.includes('"kind":"retire"')).map((l) => JSON.parse(l).data);
    for (const r of recs) {
      expect(r.witness).toMatchObject({ witness: "witness.test/retain-run" }); // each allowed by a real cosignature past it
      expect(r.witness.tree_size).toBeGreaterThan(r.last_seq);
    }
    // Segment 1's record was in a segment retired later: what it said goes on in a later record.
    expect(recs.some((r) => r.carried.some((c: any) => c.from === 1))).toBe(true);
  } finally {
    submitter.stop();
    await task.stop();
    key.close();
  }
  log.close();
  const v = runVerify([audit, "--pubkey", h.pubkeyPath]);
  expect(v.code).toBe(0);
  expect(v.json.total.start_checked).toBe(true);
  expect(v.json.retired[0]).toMatchObject({ segment: 1, status: "retired", rule: "internal=1d" });
  expect(v.json.retired.every((x: any) => x.status === "retired")).toBe(true);
});

test("the real forwarder's cursor allows the deletion, and the retire records are forwarded like any line", async () => {
  const d = dir();
  const audit = join(d, "audit");
  mkdirSync(audit);
  const out = join(d, "events.ndjson");
  const cfg = writeConfig(d, { state_dir: join(d, "state"), sinks: [{ name: "export", type: "file", path: out }] });
  const t = smallLog(audit, h);
  records(t, 50);
  const policy = policyFrom({ rules: ["internal=1d"], forwardConfig: cfg, forwardSinks: ["export"], witnesses: [] });
  expect(policy.requireSinks).toBe(true);
  const r = new Retainer(audit, policy);
  expect((await r.plan()).decisions.every((x) => x.action === "keep" && x.reasons.join().includes("sink export has no cursor yet"))).toBe(true);
  expect((await forward(["--audit-dir", audit, "--config", cfg, "--once"])).code).toBe(0);
  const pass = await r.pass(t.log);
  expect(pass.retired.map((x) => x.segment)).toEqual([1, 2]);
  t.log.close();
  expect((await forward(["--audit-dir", audit, "--config", cfg, "--once"])).code).toBe(0);
  const events = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const retires = events.filter((e) => e.kind === "retire");
  expect(retires.map((e) => JSON.parse(e.line).data.segment)).toEqual([1, 2]);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i)); // nothing skipped, nothing twice
  expect(runVerify([audit, "--pubkey", h.pubkeyPath]).code).toBe(0);
});
