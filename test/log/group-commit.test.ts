/**
 * Batches and group commit write exactly the log that records one at a time write: the same
 * bytes (so the same leaves and tree roots), checkpoints at the same seqs (`checkpointEvery`
 * cadence: 1000, 2001, …), rotations at the same places. With group commit a count checkpoint
 * is written once its sync returns even when no record follows, and onCheckpoint hears of it
 * only after its own line is synced. Real SoftHSM key, real files.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalize, parseRecord } from "../../src/evidence/index.ts";
import type { CheckpointResult, EvidenceLog } from "../../src/log/index.ts";
import { closeLogs, flow, hsm, openLog, readLines, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

let h: Hsm;
const dirs: string[] = [];
beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  for (const d of dirs.splice(0)) removeDir(d);
});

const NOW = new Date("2026-12-01T12:00:00.000Z");
const encoder = new TextEncoder();
const record = (i: number) => ({ ...flow(i), note: i % 5 === 0 ? "é\u2028\"quoted\"" : "plain" });

/** Two logs that share their segment line (log id): `a` opened first, its file copied before anything else is written. */
function twins(o: Parameters<typeof openLog>[2], groupCommit: boolean): { a: EvidenceLog; b: EvidenceLog; dirA: string; dirB: string } {
  const dirA = tempDir(), dirB = tempDir();
  dirs.push(dirA, dirB);
  const a = openLog(dirA, h, { now: () => NOW, ...o });
  copyFileSync(join(dirA, "signed_evidence.log"), join(dirB, "signed_evidence.log"));
  a.checkpoint("start"); // what b writes on opening a log with an unsigned segment line
  const b = openLog(dirB, h, { now: () => NOW, ...o, groupCommit });
  return { a, b, dirA, dirB };
}

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

describe("batches and group commit", () => {
  for (const groupCommit of [false, true]) {
    test(`appendBodies in chunks up to the next checkpoint writes the bytes appendRecord writes one at a time${groupCommit ? " (group commit)" : ""}`, () => {
      const { a, b: g, dirA, dirB } = twins({ checkpointEvery: 7, rotateLines: 40 }, groupCommit);
      const n = 150;
      for (let i = 0; i < n; i++) a.appendRecord("flow", record(i));
      a.close();
      for (let done = 0, sizes = [1, 3, 7, 2, 5]; done < n; ) {
        const k = Math.min(sizes[done % sizes.length]!, g.roomBeforeCheckpoint(), n - done);
        const first = done;
        const r = g.appendBodies("flow", k, (i, w) => w.bytes(encoder.encode(canonicalize(record(first + i)))));
        expect(r.ts).toBe(NOW.toISOString());
        done += k;
      }
      g.close();
      const fa = filesOf(dirA), fb = filesOf(dirB);
      expect(Object.keys(fb)).toEqual(Object.keys(fa));
      expect(Object.keys(fa).length).toBeGreaterThan(3); // it rotated
      for (const f of Object.keys(fa)) expect(fb[f]).toBe(fa[f]!);
      expect(runVerify([dirB, "--pubkey", h.pubkeyPath]).code).toBe(0);
    });
  }

  test("appendRecords with group commit: a long batch in pieces, a checkpoint after every 1000 lines exactly as without", () => {
    const { a, b: g, dirA, dirB } = twins({ checkpointEvery: 1000, rotateLines: 1_000_000 }, true);
    const data = Array.from({ length: 3500 }, (_, i) => record(i));
    a.appendRecords("flow", data);
    a.close();
    g.appendRecords("flow", data);
    g.close();
    expect(readFileSync(join(dirB, "signed_evidence.log"), "utf8")).toBe(readFileSync(join(dirA, "signed_evidence.log"), "utf8"));
    const cps = readLines(join(dirB, "signed_evidence.log")).map(parseRecord).filter((r) => r.kind === "checkpoint");
    expect(cps.map((r) => [r.seq, (r.data as { trigger: string }).trigger])).toEqual([[1, "start"], [1002, "count"], [2003, "count"], [3004, "count"], [3505, "shutdown"]]);
  });

  test("a held count checkpoint is written when its sync returns, with no record after it; onCheckpoint hears of it once it is synced", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const told: CheckpointResult[] = [];
    let heard!: () => void;
    const heardCount = new Promise<void>((r) => { heard = r; });
    const log = openLog(dir, h, { checkpointEvery: 10, groupCommit: true, onCheckpoint: (c) => { told.push(c); if (c.trigger === "count") heard(); } });
    log.appendRecords("flow", Array.from({ length: 9 }, (_, i) => flow(i))); // 10 lines with the segment line
    const kinds = () => readLines(join(dir, "signed_evidence.log")).map((l) => parseRecord(l).kind);
    expect(kinds()).not.toContain("checkpoint"); // held: its sync is running
    expect(told).toEqual([]);
    expect(log.roomBeforeCheckpoint()).toBe(10); // the next period starts after it
    await heardCount;
    expect(kinds()).toEqual(["segment", ...Array(9).fill("flow"), "checkpoint"]);
    expect(told.map((c) => [c.seq, c.trigger, c.status])).toEqual([[10, "count", "ok"]]);
    expect(log.latestCheckpoint()?.seq).toBe(10);
    expect(log.appendRecord("flow", flow(9)).seq).toBe(11);
    log.close();
    expect(told.map((c) => c.trigger)).toEqual(["count", "shutdown"]);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });
});

