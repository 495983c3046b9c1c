/**
 * The evidence log writer with a real SoftHSM key: canonical records, checkpoints every N
 * lines, on a timer and at shutdown, counters for metrics, rotation into segments that
 * verify alone, restart where it left off, the append-only attribute, and ECDSA P-256.
 * Needs root (chattr) and SoftHSM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalize, parseRecord } from "../../src/evidence/index.ts";
import { isAppendOnly } from "../../src/log/attr.ts";
import type { CheckpointResult } from "../../src/log/index.ts";
import { closeLogs, flow, hsm, openLog, readLines, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

let h: Hsm;
let dir: string;
beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (dir) removeDir(dir);
});

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("EvidenceLog", () => {
  test("writes one canonical record per line with v, seq, ts, kind, class, and a segment line first", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 1000 });
    const r = log.appendRecord("flow", flow(0));
    log.appendRecord("spike", { packets: 5000 }, { class: "confidential" });
    log.close();
    const lines = readLines(join(dir, "signed_evidence.log"));
    const recs = lines.map(parseRecord);
    expect(recs.map((x) => x.kind)).toEqual(["segment", "flow", "spike", "checkpoint"]);
    expect(recs.map((x) => x.seq)).toEqual([0, 1, 2, 3]);
    expect(r).toEqual({ seq: 1, ts: recs[1]!.ts });
    expect(recs[1]!.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(recs[2]!.class).toBe("confidential");
    for (const line of lines) expect(canonicalize(JSON.parse(line))).toBe(line);
    const cp = recs[3]!.data as any;
    expect(cp).toMatchObject({ signature_status: "ok", tree_size: 3, trigger: "shutdown", algorithm: "ed25519", segment: 1, prev_segment: null });
    expect(cp.note).toStartWith(`${cp.origin}\n3\n${cp.root}\n\n\u2014 ${cp.key_name} `);
  });

  test("signs every N lines; counters split verified, unverified and pending by kind", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 10 });
    for (let i = 0; i < 25; i++) log.appendRecord("flow", flow(i));
    const c = log.counters();
    expect(c.checkpoints).toEqual({ ok: 2, failed: 0 });
    expect(c.verified.flow).toBe(19); // 9 after the segment line, then 10
    expect(c.pending.flow).toBe(6);
    expect(c.unverified).toEqual({});
    expect(c.lastSignSeconds).toBeGreaterThan(0);
    expect(log.latestCheckpoint()!.treeSize).toBe(21);
    log.close();
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("a batch longer than N lines is written in pieces with a checkpoint after every N lines", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 10 });
    expect(log.roomBeforeCheckpoint()).toBe(9); // the segment line counts
    const out = log.appendRecords("flow", Array.from({ length: 25 }, (_, i) => flow(i)));
    expect(out.map((r) => r.seq)).toEqual([...range(1, 10), ...range(11, 21), ...range(22, 28)]);
    expect(log.roomBeforeCheckpoint()).toBe(4);
    log.close();
    const cps = readLines(join(dir, "signed_evidence.log")).map(parseRecord).filter((r) => r.kind === "checkpoint");
    expect(cps.map((r) => [r.seq, (r.data as any).trigger])).toEqual([[10, "count"], [21, "count"], [28, "shutdown"]]);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("signs at each tick of its interval timer, even when nothing new arrived (the timer injected and ticked by the test)", () => {
    dir = tempDir();
    let tick: (() => void) | undefined;
    let every = 0;
    let stopped = false;
    const timer = (t: () => void, ms: number) => {
      tick = t;
      every = ms;
      return () => { stopped = true; };
    };
    const log = openLog(dir, h, { checkpointIntervalMs: 250, timer });
    expect(every).toBe(250);
    for (let i = 0; i < 3; i++) tick!();
    expect(log.counters().checkpoints.ok).toBe(3);
    log.close();
    expect(stopped).toBe(true);
    const recs = readLines(join(dir, "signed_evidence.log")).map(parseRecord);
    expect(recs.map((r) => r.kind === "checkpoint" ? (r.data as any).trigger : r.kind)).toEqual(["segment", "interval", "interval", "interval"]);
  });

  test("the final (shutdown) checkpoint stops the interval timer: no checkpoint follows it while the log stays open", () => {
    dir = tempDir();
    let stopped = false;
    const timer = (_t: () => void, _ms: number) => () => { stopped = true; };
    const log = openLog(dir, h, { checkpointIntervalMs: 250, timer });
    log.appendRecord("flow", flow(1));
    const last = log.checkpoint("shutdown");
    expect(stopped).toBe(true); // before close: an agent still waits for witnesses and exporters after it
    log.close();
    const recs = readLines(join(dir, "signed_evidence.log")).map(parseRecord);
    expect(recs.at(-1)!.kind).toBe("checkpoint");
    expect(recs.at(-1)!.seq).toBe(last.seq);
  });

  test("the default interval timer fires: its first checkpoint arrives through onCheckpoint", async () => {
    dir = tempDir();
    let resolve!: (c: CheckpointResult) => void;
    const first = new Promise<CheckpointResult>((r) => { resolve = r; });
    const log = openLog(dir, h, { checkpointIntervalMs: 50, onCheckpoint: (c) => { if (c.trigger === "interval") resolve(c); } });
    const c = await first; // waits for the event itself, however loaded the machine is
    expect(c).toMatchObject({ status: "ok", treeSize: 1 });
    log.close();
  });

  test("onCheckpoint is told about each checkpoint once its line is on disk; a listener that throws cannot break the log", () => {
    dir = tempDir();
    const seen: { trigger: string; onDisk: boolean }[] = [];
    const errors: Error[] = [];
    const log = openLog(dir, h, {
      checkpointEvery: 5,
      onError: (e) => errors.push(e),
      onCheckpoint: (c) => {
        const onDisk = readLines(join(dir, "signed_evidence.log")).some((l) => parseRecord(l).seq === c.seq);
        seen.push({ trigger: c.trigger, onDisk });
        if (seen.length === 1) throw new Error("listener bug");
      },
    });
    for (let i = 0; i < 10; i++) log.appendRecord("flow", flow(i));
    log.close();
    expect(seen).toEqual([{ trigger: "count", onDisk: true }, { trigger: "count", onDisk: true }, { trigger: "shutdown", onDisk: true }]);
    expect(errors.map((e) => e.message)).toEqual(["listener bug"]);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("rotates at checkpoints into numbered segments that reference each other; one verifies alone from a trusted checkpoint of its own", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 10, rotateLines: 25 });
    for (let i = 0; i < 100; i++) log.appendRecord("flow", flow(i));
    log.close();
    const names = readdirSync(dir).sort();
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(names.at(-1)).toBe("signed_evidence.log");
    expect(names[0]).toBe("signed_evidence.000001.log");
    const seg2 = readLines(join(dir, "signed_evidence.000002.log")).map(parseRecord);
    expect(seg2[0]!.kind).toBe("segment");
    expect(seg2[0]!.data).toMatchObject({ segment: 2, prev: { file: "signed_evidence.000001.log", segment: 1 } });
    expect(seg2.at(-1)!.kind).toBe("checkpoint");
    const all = runVerify([dir, "--pubkey", h.pubkeyPath]);
    expect(all.code).toBe(0);
    expect(all.json.segments.map((s: any) => s.status)).toEqual(names.map(() => "verified"));
    // Alone, segment 2 cannot say what came before it: incomplete, never verified.
    const alone = runVerify([join(dir, "signed_evidence.000002.log"), "--pubkey", h.pubkeyPath]);
    expect(alone.code).toBe(2);
    expect(alone.json.findings[0].message).toContain("starts at segment 2");
    // From a checkpoint of its own kept elsewhere (a trusted starting point), it verifies on its own.
    const seg2First = seg2.find((r) => r.kind === "checkpoint")!;
    const from = join(dir, "..", `${dir.split("/").at(-1)}.from.note`);
    writeFileSync(from, (seg2First.data as { note: string }).note);
    try {
      const started = runVerify([join(dir, "signed_evidence.000002.log"), "--pubkey", h.pubkeyPath, "--from-checkpoint", from]);
      expect(started.code).toBe(0);
    } finally {
      rmSync(from, { force: true });
    }
  });

  test("reopening continues the tree and seq, and signs what the last run left unsigned", () => {
    dir = tempDir();
    const a = openLog(dir, h, { checkpointEvery: 1000 });
    for (let i = 0; i < 5; i++) a.appendRecord("flow", flow(i));
    a.close();
    const b = openLog(dir, h, { checkpointEvery: 1000 });
    expect(b.appendRecord("flow", flow(5)).seq).toBe(7);
    b.close();
    const recs = readLines(join(dir, "signed_evidence.log")).map(parseRecord);
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i));
    expect(recs.filter((r) => r.kind === "segment")).toHaveLength(1);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("sets the append-only attribute and still rotates (root)", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 5, rotateLines: 8, appendOnly: true });
    for (let i = 0; i < 20; i++) log.appendRecord("flow", flow(i));
    expect(log.status().appendOnly).toEqual({ set: true });
    log.close();
    const names = readdirSync(dir);
    expect(names.length).toBeGreaterThan(2);
    for (const n of names) expect(isAppendOnly(join(dir, n))).toBe(true);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("close() after the agent's own shutdown checkpoint adds no second one", () => {
    dir = tempDir();
    const log = openLog(dir, h);
    log.appendRecord("flow", flow(0));
    expect(log.checkpoint("shutdown").status).toBe("ok");
    log.close();
    const kinds = readLines(join(dir, "signed_evidence.log")).map((l) => parseRecord(l).kind);
    expect(kinds).toEqual(["segment", "flow", "checkpoint"]);
  });

  test("an origin or key name that cannot go into a signed note is a CONFIG error", () => {
    dir = tempDir();
    expect(() => openLog(dir, null, { keyName: "has space" })).toThrow(/signed note/);
    expect(() => openLog(dir, null, { origin: "two\nlines" })).toThrow(/signed note/);
  });

  test("a second writer on the same directory is refused", () => {
    dir = tempDir();
    const log = openLog(dir, null);
    expect(() => openLog(dir, null)).toThrow(/another ato process/);
    log.close();
  });
});

describe("EvidenceLog with an ECDSA P-256 key", () => {
  test("signs checkpoints that ato verify and openssl dgst accept", async () => {
    const p = await hsm("ecdsa-p256");
    dir = tempDir();
    const out = tempDir("ato-proof-");
    try {
      const log = openLog(dir, p, { checkpointEvery: 4 });
      for (let i = 0; i < 10; i++) log.appendRecord("flow", flow(i));
      log.close();
      const v = runVerify([dir, "--pubkey", p.pubkeyPath, "--export-proof", "3", "--out", out]);
      expect(v.code).toBe(0);
      expect(v.json.export.commands.signature).toStartWith("openssl dgst -sha256 -verify");
      const ossl = Bun.spawnSync(["openssl", "dgst", "-sha256", "-verify", join(out, "pubkey.pem"), "-signature", join(out, "checkpoint.sig"), join(out, "checkpoint.txt")]);
      expect(ossl.stdout.toString()).toContain("Verified OK");
    } finally {
      removeDir(out);
      p.cleanup();
    }
  });
});
