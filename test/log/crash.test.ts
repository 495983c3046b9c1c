/**
 * Crash safety: a writer process is killed with SIGKILL in the middle of a stream of
 * records; a new writer starts on the same directory. Every record the killed writer had
 * reported as written is in the log with its content, and the log verifies.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseRecord } from "../../src/evidence/index.ts";
import { closeLogs, hsm, openLog, readLines, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

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

async function runUntilKilled(lines: number, mode: string): Promise<Map<number, number>> {
  const child = Bun.spawn(["bun", join(import.meta.dir, "_writer-child.ts"), dir, mode], { env: { ...process.env, ...h.token.env }, stdout: "pipe", stderr: "pipe" });
  const reported = new Map<number, number>();
  let buffered = "";
  const reader = child.stdout.getReader();
  try {
    while (reported.size < lines) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the writer exited early: ${await new Response(child.stderr).text()}`);
      buffered += new TextDecoder().decode(value);
      const complete = buffered.lastIndexOf("\n");
      for (const l of buffered.slice(0, complete + 1).split("\n").filter(Boolean)) {
        const [seq, i] = l.split(" ").map(Number);
        reported.set(seq!, i!);
      }
      buffered = buffered.slice(complete + 1);
    }
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  return reported;
}

describe("crash safety", () => {
  for (const mode of ["records", "group"]) test(`SIGKILL mid-stream (three times) loses no reported record, and the restarted log verifies${mode === "group" ? " (group commit: killed with checkpoints held and syncs running)" : ""}`, async () => {
    dir = tempDir();
    const reported = new Map<number, number>();
    for (let round = 0; round < 3; round++) for (const [seq, i] of await runUntilKilled(1500, mode)) reported.set(seq, i);
    const restarted = openLog(dir, h, { appendOnly: true });
    restarted.close();

    const bySeq = new Map<number, unknown>();
    const files = readdirSync(dir).sort(); // rotated segments by number, then signed_evidence.log
    for (const f of files) for (const l of readLines(join(dir, f))) {
      const r = parseRecord(l);
      bySeq.set(r.seq, r.kind === "flow" ? r.data.i : r.kind);
    }
    const missing = [...reported].filter(([seq, i]) => bySeq.get(seq) !== i);
    expect(reported.size).toBeGreaterThanOrEqual(4500);
    expect(missing).toEqual([]);
    expect(files.length).toBeGreaterThan(2); // it crossed rotations

    const v = runVerify([dir, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.total.unsigned_tail).toBe(0);
  }, 60_000);
});
