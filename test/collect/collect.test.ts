/**
 * `ato collect` against a real nats-server JetStream: two evidence logs of two origins, written
 * by the real writer and signed through SoftHSM, forwarded by `ato forward`
 * into one stream, rebuilt by one collector. Both origins arrive and `ato verify` passes on each
 * rebuilt directory (file for file the host's bytes); a run after more lines adds only those;
 * a message deleted from the stream is a gap of that origin only; a different line for a held
 * seq is a finding and is never written into the log.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hsm, openLog, runVerify, type Hsm } from "../log/_helpers.ts";
import { ATO_MAIN, appendFlows, closeLogs, forward, freePort, removeDir, tempDir, waitFor, writeConfig } from "../forward/_helpers.ts";
import { client, createStream, startNats, type Cluster } from "../forward/_nats.ts";
import type { NatsConnection } from "../../src/forward/nats/connection.ts";
import type { EvidenceLog } from "../../src/log/index.ts";
import { dirNameOf } from "../../src/collect/index.ts";

let keyA: Hsm;
let keyB: Hsm;
let dir: string;
let nats: Cluster;
let conn: NatsConnection;
let stream: string;
const procs: ReturnType<typeof Bun.spawn>[] = [];

beforeAll(async () => {
  // One SoftHSM token per process (its config is process-wide): both hosts sign with its key.
  keyA = keyB = await hsm("ed25519");
});
afterAll(() => keyA.cleanup());
beforeEach(async () => {
  dir = tempDir("ato-collect-");
  nats = await startNats(join(dir, "nats"));
  conn = await client(nats.urls);
  stream = `FLEET_${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
  await createStream(conn, stream, ["ato.evidence.>"], 1);
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  conn.close();
  await nats.stop();
  closeLogs();
  removeDir(dir);
});

interface Host {
  audit: string;
  log: EvidenceLog;
  origin: string;
  key: Hsm;
}

function host(name: string, key: Hsm, flows = 700): Host {
  const audit = join(dir, name);
  mkdirSync(audit);
  const origin = `ato/${name}`;
  const log = openLog(audit, key, { origin, checkpointEvery: 100, rotateLines: 300 });
  appendFlows(log, flows);
  return { audit, log, origin, key };
}

async function forwardAll(h: Host): Promise<void> {
  const cfg = writeConfig(mkdirp(h.audit + "-fwd"), {
    state_dir: join(h.audit + "-fwd", "state"),
    batch: { records: 200, linger_ms: 20 },
    sinks: [{ name: "fleet", type: "jetstream", servers: nats.urls, stream, ack_timeout_ms: 3000 }],
  });
  const r = await forward(["--audit-dir", h.audit, "--config", cfg, "--once"]);
  if (r.code !== 0) throw new Error(`ato forward exited ${r.code}: ${r.stderr}`);
}

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

function collectArgs(out: string): string[] {
  return ["bun", ATO_MAIN, "collect", "--nats", nats.urls[0]!, "--stream", stream, "--out", out, "--pubkey", keyA.pubkeyPath, "--ack-wait", "2"];
}

async function collectOnce(out: string, extra: string[] = []) {
  const p = Bun.spawn([...collectArgs(out), "--once", ...extra], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const status = new Map<string, any>(stdout.split("\n").filter(Boolean).map((l) => { const s = JSON.parse(l); return [s.origin, s]; }));
  return { code, stderr, status };
}

/** The rebuilt directory holds the host's segment files byte for byte, under the same names. */
function expectSameFiles(h: Host, out: string): void {
  const rebuilt = join(out, dirNameOf(h.origin));
  const names = readdirSync(h.audit).filter((n) => n.startsWith("signed_evidence")).sort();
  expect(names.length).toBeGreaterThan(2);
  expect(readdirSync(rebuilt).filter((n) => n.startsWith("signed_evidence")).sort()).toEqual(names);
  for (const n of names) expect(readFileSync(join(rebuilt, n), "utf8")).toBe(readFileSync(join(h.audit, n), "utf8"));
}

/** Deletes the stream message carrying `origin`'s line `seq`, looked up by message id. */
async function deleteFromStream(origin: string, seq: number): Promise<void> {
  for (let s = 1; ; s++) {
    const r = JSON.parse((await conn.request(`$JS.API.STREAM.MSG.GET.${stream}`, undefined, JSON.stringify({ seq: s }), 5000)).payload.toString());
    if (r.error) throw new Error(`no message for ${origin}/${seq} in ${stream}: ${r.error.description}`);
    const body = JSON.parse(Buffer.from(r.message.data, "base64").toString());
    if (body.origin !== origin || body.seq !== seq) continue;
    const d = JSON.parse((await conn.request(`$JS.API.STREAM.MSG.DELETE.${stream}`, undefined, JSON.stringify({ seq: s }), 5000)).payload.toString());
    expect(d.success).toBe(true);
    return;
  }
}

describe("ato collect", () => {
  test("two origins through one stream: each rebuilt directory is the host's log and verifies; a second run adds only the new lines", async () => {
    const a = host("host-a", keyA);
    const b = host("host-b", keyB);
    await forwardAll(a);
    await forwardAll(b);
    const out = mkdirp(join(dir, "fleet"));
    const r = await collectOnce(out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const h of [a, b]) {
      const s = r.status.get(h.origin);
      expect(s).toMatchObject({ result: "verified", missing: 0, behind: 0, findings: [] });
      expect(s.last_signed_age_s).toBeGreaterThanOrEqual(0);
      expectSameFiles(h, out);
      const v = runVerify([join(out, dirNameOf(h.origin)), "--pubkey", h.key.pubkeyPath]);
      const onHost = runVerify([h.audit, "--pubkey", h.key.pubkeyPath]);
      expect(v.code).toBe(0);
      expect(v.json.total.tree_size).toBe(onHost.json.total.tree_size);
      expect(v.json.total.root).toBe(onHost.json.total.root);
      expect(s.tree_size).toBe(onHost.json.total.tree_size);
    }
    // More lines on one host, forwarded, collected by the same durable consumer: only they arrive.
    appendFlows(a.log, 400, 700);
    await forwardAll(a);
    const again = await collectOnce(out);
    expect(again.code).toBe(0);
    expect(again.status.get(a.origin)).toMatchObject({ result: "verified", missing: 0, verify_mode: "incremental" });
    expectSameFiles(a, out);
    expectSameFiles(b, out);
    // A byte of b's rebuilt log changed behind the collector's back: its saved point no longer
    // matches, the full pass that follows finds the change, for b only.
    const seg1 = join(out, dirNameOf(b.origin), "signed_evidence.000001.log");
    writeFileSync(seg1, readFileSync(seg1, "utf8").replace(/"packets":(\d)/, (_m, d) => `"packets":${d === "7" ? 8 : 7}`));
    const third = await collectOnce(out);
    expect(third.code).toBe(1);
    expect(third.status.get(a.origin)).toMatchObject({ result: "verified", verify_mode: "incremental" });
    expect(third.status.get(b.origin)).toMatchObject({ result: "tampered", verify_mode: "full" });
    expect(third.status.get(b.origin).findings).toEqual([expect.objectContaining({ kind: "state_mismatch", message: expect.stringMatching(/segment 1 .*written to since it was verified/) })]);
  }, 120_000);

  test("a line deleted from the stream is a gap of that origin only, in the status and the metrics", async () => {
    const a = host("host-a", keyA);
    const b = host("host-b", keyB);
    await forwardAll(a);
    await forwardAll(b);
    await deleteFromStream(b.origin, 150);
    const out = mkdirp(join(dir, "fleet"));
    const port = await freePort();
    const p = Bun.spawn([...collectArgs(out), "--listen", `127.0.0.1:${port}`, "--verify-every", "0"], { stdout: "pipe", stderr: "pipe" });
    procs.push(p);
    const gauge = (text: string, name: string, origin: string) => Number(new RegExp(`^${name}\\{origin="${origin.replace(/[/.]/g, "\\$&")}"\\} (\\S+)$`, "m").exec(text)?.[1]);
    let metrics = "";
    await waitFor("both origins verified in the metrics", async () => {
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
      return gauge(metrics, "ato_collect_tree_size", a.origin) > 700 && gauge(metrics, "ato_collect_verify_result", b.origin) >= 0 && gauge(metrics, "ato_collect_behind_records", b.origin) === 0;
    }, 60_000);
    expect(gauge(metrics, "ato_collect_missing_records", a.origin)).toBe(0);
    expect(gauge(metrics, "ato_collect_missing_records", b.origin)).toBe(1);
    expect(gauge(metrics, "ato_collect_verify_result", a.origin)).toBe(0);
    expect(gauge(metrics, "ato_collect_verify_result", b.origin)).toBeGreaterThan(0);
    expect(gauge(metrics, "ato_collect_last_signed_checkpoint_age_seconds", a.origin)).toBeGreaterThanOrEqual(0);
    p.kill("SIGTERM");
    const code = await p.exited;
    // The same verdict from ato verify on each rebuilt directory: a's verifies; b's has the gap
    // (tampered once a later checkpoint does not match the lines that are left).
    expect(runVerify([join(out, dirNameOf(a.origin)), "--pubkey", keyA.pubkeyPath]).code).toBe(0);
    const vb = runVerify([join(out, dirNameOf(b.origin)), "--pubkey", keyB.pubkeyPath]);
    expect(vb.code).not.toBe(0);
    expect(vb.json.findings.some((f: any) => /seq jumps from 149 to 151/.test(f.message))).toBe(true);
    expect(code).toBe(vb.code);
    expect(gauge(metrics, "ato_collect_verify_result", b.origin)).toBe(vb.code);
    // Restarted, the collector finds the gap again from the directory, for b only.
    const r = await collectOnce(out);
    expect(r.code).toBe(vb.code);
    expect(r.status.get(a.origin)).toMatchObject({ result: "verified", missing: 0 });
    expect(r.status.get(b.origin)).toMatchObject({ missing: 1, gaps: [[150, 150]] });
  }, 120_000);

  test("a collector SIGKILLed mid-stream and restarted: the rebuilt log is the host's, nothing lost or doubled", async () => {
    const a = host("host-a", keyA, 12_000);
    await forwardAll(a);
    const out = mkdirp(join(dir, "fleet"));
    const rebuilt = join(out, dirNameOf(a.origin));
    const p = Bun.spawn([...collectArgs(out), "--verify-every", "600"], { stdout: "ignore", stderr: "ignore" });
    procs.push(p);
    const written = () => {
      try {
        return readdirSync(rebuilt).filter((n) => n.startsWith("signed_evidence")).reduce((n, f) => n + readFileSync(join(rebuilt, f)).length, 0);
      } catch {
        return 0;
      }
    };
    await waitFor("the collector to have written some lines", () => written() > 100_000, 60_000);
    p.kill("SIGKILL");
    await p.exited;
    const hostBytes = readdirSync(a.audit).filter((n) => n.startsWith("signed_evidence")).reduce((n, f) => n + readFileSync(join(a.audit, f)).length, 0);
    expect(written()).toBeLessThan(hostBytes); // killed before the end: the restart has work to do
    const r = await collectOnce(out);
    expect(r.code).toBe(0);
    expect(r.status.get(a.origin)).toMatchObject({ result: "verified", missing: 0, findings: [] });
    expectSameFiles(a, out);
  }, 120_000);

  test("a different line for a seq already held is a finding, kept aside, and the log stays the host's", async () => {
    const a = host("host-a", keyA);
    await forwardAll(a);
    const out = mkdirp(join(dir, "fleet"));
    expect((await collectOnce(out)).code).toBe(0);
    const original = readFileSync(join(a.audit, "signed_evidence.000001.log"), "utf8").split("\n")[10]!;
    const forged = original.replace(/"packets":\d+/, '"packets":999999');
    expect(forged).not.toBe(original);
    await conn.request(`ato.evidence.${a.origin.replace(/[^A-Za-z0-9_-]/g, "_")}`, { "Nats-Msg-Id": "forged" }, JSON.stringify({ class: "internal", id: `${a.origin}/10`, kind: "flow", line: forged, origin: a.origin, seq: 10, ts: "" }), 5000);
    const r = await collectOnce(out);
    expect(r.code).toBe(1);
    expect(r.status.get(a.origin).findings).toEqual([expect.objectContaining({ seq: 10, kind: "conflict" })]);
    expectSameFiles(a, out);
    expect(readFileSync(join(out, dirNameOf(a.origin), "collect.conflict.ndjson"), "utf8")).toContain("999999");
    expect(runVerify([join(out, dirNameOf(a.origin)), "--pubkey", keyA.pubkeyPath]).code).toBe(0);
  }, 120_000);
});
