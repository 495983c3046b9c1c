/**
 * A checkpoint never covers lines that are not yet durable: the writer runs under strace, and
 * for every checkpoint line in the finished log, some fdatasync of the log that started after
 * every byte before the line was written has returned before the write that carries the line
 * began. With and without group commit (where that sync runs on the thread pool while the next
 * records are encoded). Needs strace (scripts/bootstrap.sh).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hsm, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

let h: Hsm;
const dirs: string[] = [];
beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

interface Call { name: "write" | "writev" | "fdatasync" | "fsync"; start: number; end: number; ret: number }

/** The log file's write, writev, fdatasync and fsync calls from `strace -f -y -ttt -T`, with start and end times. */
function callsOn(trace: string, file: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, { name: Call["name"]; start: number }>();
  const done = (name: Call["name"], start: number, rest: string) => {
    const m = /= (-?\d+)(?: \w+ \([^)]*\))? <([\d.]+)>$/.exec(rest);
    if (!m) throw new Error(`unparsed strace line end: ${rest}`);
    calls.push({ name, start, end: start + Number(m[2]), ret: Number(m[1]) });
  };
  for (const line of trace.split("\n")) {
    const m = /^(\d+)\s+([\d.]+) (.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ts, body] = m as unknown as [string, string, string, string];
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(body);
    if (resumed) {
      const o = open.get(pid);
      if (o && o.name === resumed[1]) done(o.name, o.start, resumed[2]!);
      open.delete(pid);
      continue;
    }
    const call = /^(write|writev|fdatasync|fsync)\((\d+)<([^>]*)>/.exec(body);
    if (!call || call[3] !== file) continue;
    const name = call[1] as Call["name"];
    if (body.endsWith("<unfinished ...>")) open.set(pid, { name, start: Number(ts) });
    else done(name, Number(ts), body);
  }
  return calls.sort((a, b) => a.start - b.start);
}

async function traced(mode: string): Promise<{ dir: string; calls: Call[]; text: Buffer }> {
  const dir = tempDir();
  dirs.push(dir);
  const out = join(dir, "..", `${dir.split("/").at(-1)}.strace`);
  dirs.push(out);
  const p = Bun.spawn(["strace", "--seccomp-bpf", "-f", "-y", "-ttt", "-T", "-e", "trace=write,writev,fdatasync,fsync", "-o", out, "bun", join(import.meta.dir, "_sync-child.ts"), dir, mode], { env: { ...process.env, ...h.token.env }, stdout: "pipe", stderr: "pipe" });
  expect(await p.exited).toBe(0);
  const file = join(dir, "signed_evidence.log");
  return { dir, calls: callsOn(readFileSync(out, "utf8"), file), text: readFileSync(file) };
}

/** Offsets of the checkpoint lines in the file. */
function checkpointOffsets(text: Buffer): number[] {
  const at: number[] = [];
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf(0x0a, start);
    if (text.subarray(start, end).includes('"kind":"checkpoint"')) at.push(start);
    start = end + 1;
  }
  return at;
}

describe("sync order", () => {
  for (const mode of ["sync", "group"]) {
    test(`every checkpoint line is written after a returned fdatasync of the lines before it (${mode === "group" ? "group commit" : "checkpoints wait"})`, async () => {
      const { dir, calls, text } = await traced(mode);
      const writes = calls.filter((c) => c.name === "write" || c.name === "writev");
      const syncs = calls.filter((c) => (c.name === "fdatasync" || c.name === "fsync") && c.ret === 0);
      expect(writes.every((w) => w.ret > 0)).toBe(true);
      expect(writes.reduce((n, w) => n + w.ret, 0)).toBe(text.length); // every byte of the file, once
      let offset = 0;
      const ranges = writes.map((w) => ({ w, from: offset, to: (offset += w.ret) }));
      const cps = checkpointOffsets(text);
      expect(cps.length).toBeGreaterThanOrEqual(8);
      const unsafe: number[] = [];
      for (const x of cps) {
        const carrier = ranges.find((r) => r.from <= x && x < r.to)!;
        const before = ranges.filter((r) => r.from < x).map((r) => r.w);
        const lastBefore = Math.max(...before.filter((w) => w !== carrier.w).map((w) => w.end), 0);
        // The carrier's own bytes before x were written by the same call: not durable before it.
        if (carrier.from < x) unsafe.push(x);
        else if (!syncs.some((s) => s.start >= lastBefore && s.end <= carrier.w.start)) unsafe.push(x);
      }
      expect(unsafe).toEqual([]);
      expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
    }, 60_000);
  }
});
