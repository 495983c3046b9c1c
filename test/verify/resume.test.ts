/**
 * Incremental verification (src/verify/resume.ts): on a log written by the real writer and
 * signed through SoftHSM, the verdict, tree size, root, last signed checkpoint, unsigned tail
 * and findings of each resumed pass equal a full `ato verify` of the same directory after every
 * appended batch (with and without a checkpoint at the end), while each pass reads only what is
 * new plus at most one segment. A changed earlier byte (in a rotated segment or before the
 * point in the current one) and a damaged state file each give a full pass that says why.
 *
 * ATO_RESUME_MEASURE=1 also prints the time and the log bytes read per resumed pass on a small
 * and on a large directory (ATO_RESUME_MEASURE_LINES=5000,200000: the figures of the report;
 * nothing here is timed as an assertion).
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { openSync, readdirSync, readFileSync, closeSync, writeSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";
import { verify } from "../../src/verify/index.ts";
import { verifyResumable } from "../../src/verify/resume.ts";
import type { EvidenceLog } from "../../src/log/index.ts";

let key: Hsm;
const dirs: string[] = [];
beforeAll(async () => {
  key = await hsm("ed25519");
});
afterEach(() => {
  closeLogs();
  for (const d of dirs.splice(0)) removeDir(d);
});
afterAll(() => key?.cleanup());

function setup(o: { rotateLines?: number } = {}) {
  const dir = tempDir("ato-resume-");
  dirs.push(dir);
  const audit = join(dir, "audit");
  const log = openLog(audit, key, { origin: "ato/resume", checkpointEvery: 100, rotateLines: o.rotateLines ?? 500 });
  return { audit, log, statePath: join(dir, "state.json") };
}

let next = 0;
function append(log: EvidenceLog, n: number, checkpoint: boolean): void {
  for (let i = 0; i < n; i += 250) log.appendRecords("flow", Array.from({ length: Math.min(250, n - i) }, () => flow(next++)));
  if (checkpoint) log.checkpoint();
}

/** What must be equal between a resumed pass and a full one. */
function essence(r: ReturnType<typeof verify>["report"]) {
  return {
    result: r.result,
    exit_code: r.exit_code,
    tree_size: r.total.tree_size,
    root: r.total.root,
    last_signed: r.total.last_signed,
    unsigned_tail: r.total.unsigned_tail,
    findings: r.findings.filter((f) => !f.message.includes("saved verified state")).map((f) => ({ severity: f.severity, file: f.file, line: f.line, message: f.message })),
  };
}

const full = (audit: string) => verify({ paths: [audit], pubkeys: [key.pubkeyPath] }).report;
const resumed = (audit: string, statePath: string) => verifyResumable({ dir: audit, pubkeys: [key.pubkeyPath], statePath });
const logBytes = (audit: string) => readdirSync(audit).filter((n) => n.endsWith(".log")).reduce((a, n) => a + statSync(join(audit, n)).size, 0);
const segmentFiles = (audit: string) => readdirSync(audit).filter((n) => /^signed_evidence\.\d+\.log$/.test(n)).sort();

test("after each appended batch the resumed pass gives what a full verify gives, reading only the new part", () => {
  const { audit, log, statePath } = setup();
  const batches: [number, boolean][] = [[330, true], [170, false], [420, true], [60, false], [900, true], [1, false], [240, true]];
  let before = 0;
  for (const [i, [n, cp]] of batches.entries()) {
    append(log, n, cp);
    const r = resumed(audit, statePath);
    const f = full(audit);
    expect(essence(r.report)).toEqual(essence(f));
    expect(f.result).toBe("verified");
    expect(r.mode).toBe(i === 0 ? "full" : "incremental");
    expect(r.mismatch).toBeUndefined();
    const size = logBytes(audit);
    // New bytes, the unsigned tail and at most one segment (500 lines, ~200 bytes each) checked again.
    if (i > 0) expect(r.bytesRead).toBeLessThanOrEqual(size - before + 2 * 500 * 260);
    before = size;
  }
  expect(segmentFiles(audit).length).toBeGreaterThan(3);
  const st = JSON.parse(readFileSync(statePath, "utf8"));
  expect(st).toMatchObject({ v: 1, origin: "ato/resume" });
  // The last batch ended with a checkpoint: the saved point is just past it, with the tree it signs.
  const last = full(audit).total.last_signed!;
  expect(st.checkpoint_tree_size).toBe(last.tree_size);
  expect(st.tree_size).toBe(last.tree_size + 1);
  const cpLine = readFileSync(last.file, "utf8").split("\n")[last.line - 1]!;
  expect(st.checkpoint_root).toBe(JSON.parse(cpLine).data.root);
  expect(st.earlier.length).toBeGreaterThan(2);
});

test("a changed byte in an earlier, rotated segment: the state no longer matches, the full pass finds the change", () => {
  const { audit, log, statePath } = setup();
  append(log, 1600, true);
  expect(resumed(audit, statePath).report.result).toBe("verified");
  append(log, 200, true);
  flipDigit(join(audit, segmentFiles(audit)[0]!), 3);
  const r = resumed(audit, statePath);
  const f = full(audit);
  expect(r.mode).toBe("full");
  expect(r.mismatch).toMatch(/segment 1 .*written to since it was verified/);
  expect(f.result).toBe("tampered");
  expect(essence(r.report)).toEqual(essence(f));
  expect(r.report.findings.some((x) => x.severity === "notice" && x.message.includes("saved verified state does not match"))).toBe(true);
});

test("a changed byte before the point in the segment it is in: caught by that segment's prefix hash", () => {
  const { audit, log, statePath } = setup({ rotateLines: 100_000 });
  append(log, 800, true);
  expect(resumed(audit, statePath).mode).toBe("full");
  append(log, 100, true);
  flipDigit(join(audit, "signed_evidence.log"), 40);
  const r = resumed(audit, statePath);
  expect(r.mode).toBe("full");
  expect(r.mismatch).toMatch(/first \d+ bytes of segment 1 .* changed since they were verified/);
  expect(r.report.result).toBe("tampered");
  expect(essence(r.report)).toEqual(essence(full(audit)));
});

test("a changed byte after the point (in lines not yet verified) is found by the resumed pass itself", () => {
  const { audit, log, statePath } = setup({ rotateLines: 100_000 });
  append(log, 400, true);
  resumed(audit, statePath);
  append(log, 300, true);
  const lines = readFileSync(join(audit, "signed_evidence.log"), "utf8").split("\n").length - 1;
  flipDigit(join(audit, "signed_evidence.log"), lines - 150);
  const r = resumed(audit, statePath);
  expect(r.mode).toBe("incremental");
  expect(r.report.result).toBe("tampered");
  expect(essence(r.report)).toEqual(essence(full(audit)));
});

test("a damaged or foreign state file gives a full pass that names it, then resuming works again", () => {
  const { audit, log, statePath } = setup();
  append(log, 700, true);
  resumed(audit, statePath);
  writeFileSync(statePath, "{ not json");
  const r = resumed(audit, statePath);
  expect(r.mode).toBe("full");
  expect(r.mismatch).toBe("it is not JSON");
  expect(r.report.result).toBe("verified");
  const st = JSON.parse(readFileSync(statePath, "utf8"));
  writeFileSync(statePath, JSON.stringify({ ...st, key: "00".repeat(32) }));
  expect(resumed(audit, statePath).mismatch).toMatch(/key/);
  append(log, 50, true);
  const again = resumed(audit, statePath);
  expect(again.mode).toBe("incremental");
  expect(essence(again.report)).toEqual(essence(full(audit)));
});

test("a log that is not clean is never saved as a point to resume from", () => {
  const { audit, log, statePath } = setup();
  append(log, 300, true);
  flipDigit(join(audit, "signed_evidence.log"), 20);
  expect(resumed(audit, statePath).report.result).toBe("tampered");
  expect(() => readFileSync(statePath)).toThrow();
});

test.if(process.env.ATO_RESUME_MEASURE === "1")("measure: time and bytes per resumed pass on a small and a large directory", () => {
  for (const lines of (process.env.ATO_RESUME_MEASURE_LINES ?? "5000,200000").split(",").map(Number)) {
    const { audit, log, statePath } = setup({ rotateLines: 20_000 });
    append(log, lines, true);
    let t = performance.now();
    resumed(audit, statePath);
    const fullMs = performance.now() - t;
    const samples: number[] = [];
    let bytes = 0;
    for (let k = 0; k < 5; k++) {
      append(log, 1000, true);
      t = performance.now();
      const r = resumed(audit, statePath);
      samples.push(performance.now() - t);
      bytes += r.bytesRead;
      expect(r.mode).toBe("incremental");
    }
    samples.sort((a, b) => a - b);
    console.log(`resume measure: ${lines} lines (${(logBytes(audit) / 1e6).toFixed(1)} MB), first full pass ${fullMs.toFixed(0)} ms; per 1000 new lines: median ${samples[2]!.toFixed(1)} ms, ${(bytes / 5 / 1e3).toFixed(0)} kB read, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  }
}, 600_000);

/** Changes the first digit of line `lineNo` (1-based) into another digit: the same length, another line. */
function flipDigit(path: string, lineNo: number): void {
  const text = readFileSync(path, "latin1");
  let at = 0;
  for (let i = 1; i < lineNo; i++) at = text.indexOf("\n", at) + 1;
  const m = /"packets":(\d)/.exec(text.slice(at));
  if (!m) throw new Error(`no digit on line ${lineNo} of ${path}`);
  const pos = at + m.index + m[0].length - 1;
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.from(m[1] === "7" ? "8" : "7"), 0, 1, pos);
  closeSync(fd);
}
