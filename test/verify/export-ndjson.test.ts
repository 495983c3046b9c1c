/**
 * The NDJSON export put back together in bounded memory (src/verify/forwarded.ts): with a run
 * size far below the export's, so that it is spilled as many sorted runs and merged, the copy
 * verifies exactly as the host's log does, in order or shuffled with re-sent duplicates; a
 * different copy of a held seq is still named with its export line; a line holding bytes a run
 * record could trip on (a raw newline) gives the verdict the unspilled path gives; and nothing
 * of the runs is left behind.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { verify } from "../../src/verify/index.ts";
import { reassembleForwarded } from "../../src/verify/forwarded.ts";
import { hsm, openLog, type Hsm } from "../log/_helpers.ts";
import { appendFlows, closeLogs, forward, readLines, removeDir, tempDir, writeConfig } from "../forward/_helpers.ts";

let h: Hsm;
let dir: string;
let audit: string;
let exportPath: string;
let events: string[];

beforeAll(async () => {
  h = await hsm("ed25519");
  dir = tempDir("ato-export-ndjson-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  const log = openLog(audit, h, { origin: "ato/export-host", checkpointEvery: 100, rotateLines: 500 });
  appendFlows(log, 3000);
  log.close();
  exportPath = join(dir, "events.ndjson");
  const cfg = writeConfig(dir, { state_dir: join(dir, "state"), sinks: [{ name: "export", type: "file", path: exportPath }] });
  const r = await forward(["--audit-dir", audit, "--config", cfg, "--once"]);
  expect(r.code).toBe(0);
  events = readLines(exportPath);
});
afterAll(() => {
  closeLogs();
  if (dir) removeDir(dir);
  h?.cleanup();
});

/** Verifies an export reassembled with runs of `runBytes`; the temporary directory is checked and removed. */
function verifyExport(path: string, runBytes: number) {
  const f = reassembleForwarded([path], { runBytes });
  const rebuilt = f.paths[0]!;
  try {
    expect(existsSync(join(rebuilt, ".runs"))).toBe(false);
    return { report: verify({ paths: [rebuilt], pubkeys: [h.pubkeyPath] }).report, files: readdirSync(rebuilt).sort() };
  } finally {
    f.cleanup();
    expect(existsSync(rebuilt)).toBe(false);
  }
}

function writeExport(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

const host = () => verify({ paths: [audit], pubkeys: [h.pubkeyPath] }).report;

test("spilled into many sorted runs and merged, the export verifies as the host's log does", () => {
  const want = host();
  const exportBytes = events.reduce((a, l) => a + l.length + 1, 0);
  for (const runBytes of [8 << 10, 1 << 30]) {
    expect(runBytes < exportBytes / 20 || runBytes > exportBytes).toBe(true); // many runs, or one
    const got = verifyExport(exportPath, runBytes);
    expect(got.report.result).toBe("verified");
    expect(got.report.total.tree_size).toBe(want.total.tree_size);
    expect(got.report.total.root).toBe(want.total.root);
    expect(got.files).toEqual(readdirSync(audit).filter((n) => n.startsWith("signed_evidence")).sort());
  }
});

test("shuffled with re-sent duplicates, through runs: still the host's tree", () => {
  const shuffled = [...events, ...events.slice(200, 900), ...events.slice(2500)];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const got = verifyExport(writeExport("shuffled.ndjson", shuffled), 8 << 10);
  expect(got.report.result).toBe("verified");
  expect(got.report.total.root).toBe(host().total.root);
});

test("a different copy of a held seq, even in another run, is tampering named by its export line", () => {
  const ev = JSON.parse(events[1200]!);
  const forged = JSON.stringify({ ...ev, line: ev.line.replace(/"bytes":(\d+)/, '"bytes":1') });
  const p = writeExport("forged.ndjson", [...events, forged]);
  for (const runBytes of [8 << 10, 1 << 30]) {
    let err: unknown;
    try {
      reassembleForwarded([p], { runBytes });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtoError);
    expect((err as AtoError).code).toBe("TAMPERED");
    expect((err as AtoError).message).toBe(`${p} line ${events.length + 1}: two different lines for ${ev.origin} seq ${ev.seq}: the export was tampered with`);
  }
});

test("a line with a raw newline in it gives the same verdict spilled or not", () => {
  const ev = JSON.parse(events[700]!);
  const p = writeExport("newline.ndjson", events.map((l, i) => (i === 700 ? JSON.stringify({ ...ev, line: ev.line.replace('"proto":6', '"proto":\n6') }) : l)));
  const spilled = verifyExport(p, 8 << 10).report;
  const whole = verifyExport(p, 1 << 30).report;
  expect(spilled.result).toBe("tampered");
  expect({ ...spilled.total, last_signed: null }).toEqual({ ...whole.total, last_signed: null });
  expect(spilled.findings.map((f) => f.message)).toEqual(whole.findings.map((f) => f.message));
});

test("two origins in one export are a usage error, spilled or not", () => {
  const other = JSON.stringify({ ...JSON.parse(events[5]!), origin: "ato/another" });
  const p = writeExport("two.ndjson", [...events, other]);
  for (const runBytes of [8 << 10, 1 << 30]) expect(() => reassembleForwarded([p], { runBytes })).toThrow(/several logs \(origins ato\/export-host, ato\/another\)/);
});
