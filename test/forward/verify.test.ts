/**
 * `ato verify` on an NDJSON export of forwarded events gives the answer, and the exit code,
 * it gives on the host's own log: verified when intact (even with re-sent duplicates, in any
 * order), tampered when a line was changed or dropped in the copy just as on the host.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hsm, openLog, runVerify, type Hsm } from "../log/_helpers.ts";
import { appendFlows, closeLogs, forward, readLines, removeDir, tempDir, writeConfig } from "./_helpers.ts";

let h: Hsm;
let dir: string;
let audit: string;
let out: string;

beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h.cleanup());
beforeEach(async () => {
  dir = tempDir("ato-forward-verify-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  out = join(dir, "events.ndjson");
  const log = openLog(audit, h, { checkpointEvery: 100, rotateLines: 300 });
  appendFlows(log, 800);
  log.close();
  const cfg = writeConfig(dir, { state_dir: join(dir, "state"), sinks: [{ name: "export", type: "file", path: out }] });
  const r = await forward(["--audit-dir", audit, "--config", cfg, "--once"]);
  expect(r.code).toBe(0);
});
afterEach(() => {
  closeLogs();
  removeDir(dir);
});

function verifyBoth(hostDir: string, exportPath: string) {
  const host = runVerify([hostDir, "--pubkey", h.pubkeyPath]);
  const copy = runVerify([exportPath, "--pubkey", h.pubkeyPath]);
  return { host, copy };
}

/** Applies `edit` to line `seq` of the host log (a copy of it) and to its event in the export. */
function tamperBoth(seq: number, edit: (line: string) => string | undefined): { hostDir: string; exportPath: string } {
  const hostDir = join(dir, "audit-copy");
  cpSync(audit, hostDir, { recursive: true });
  for (const f of readdirSync(hostDir)) {
    const p = join(hostDir, f);
    const lines = readLines(p);
    const i = lines.findIndex((l) => JSON.parse(l).seq === seq);
    if (i < 0) continue;
    const e = edit(lines[i]!);
    if (e === undefined) lines.splice(i, 1);
    else lines[i] = e;
    writeFileSync(p, lines.join("\n") + "\n");
  }
  const exportPath = join(dir, "tampered.ndjson");
  const events = readLines(out).flatMap((l) => {
    const ev = JSON.parse(l);
    if (ev.seq !== seq) return [l];
    const e = edit(ev.line);
    return e === undefined ? [] : [JSON.stringify({ ...ev, line: e })];
  });
  writeFileSync(exportPath, events.join("\n") + "\n");
  return { hostDir, exportPath };
}

describe("ato verify on an NDJSON export of forwarded events", () => {
  test("an intact export verifies, with the same summary as the host's log", () => {
    const { host, copy } = verifyBoth(audit, out);
    expect(host.code).toBe(0);
    expect(copy.code).toBe(0);
    expect(copy.json.result).toBe("verified");
    expect(copy.json.total.tree_size).toBeGreaterThan(800);
    expect(copy.json.total.tree_size).toBe(host.json.total.tree_size);
    expect(copy.json.total.root).toBe(host.json.total.root);
    expect(copy.json.origin).toBe(host.json.origin);
    expect(copy.json.segments.length).toBe(host.json.segments.length);
  });

  test("re-sent duplicates and any order still verify (at-least-once delivery)", () => {
    const events = readLines(out);
    const shuffled = [...events, ...events.slice(100, 400)].reverse();
    const p = join(dir, "resent.ndjson");
    writeFileSync(p, shuffled.join("\n") + "\n");
    const r = runVerify([p, "--pubkey", h.pubkeyPath]);
    expect(r.code).toBe(0);
    expect(r.json.result).toBe("verified");
  });

  test("a changed line is tampered, in the copy as on the host", () => {
    const t = tamperBoth(250, (l) => l.replace(/"packets":(\d+)/, (_, n) => `"packets":${Number(n) + 1}`));
    const { host, copy } = verifyBoth(t.hostDir, t.exportPath);
    expect(host.code).toBe(1);
    expect(copy.code).toBe(host.code);
    expect(copy.json.result).toBe(host.json.result);
  });

  test("a dropped line gives the same verdict and exit code as on the host", () => {
    const t = tamperBoth(420, () => undefined);
    const { host, copy } = verifyBoth(t.hostDir, t.exportPath);
    expect(host.code).not.toBe(0);
    expect(copy.code).toBe(host.code);
    expect(copy.json.result).toBe(host.json.result);
  });

  test("two different lines for one origin and seq are tampering (exit 1)", () => {
    const events = readLines(out);
    const ev = JSON.parse(events[300]!);
    const forged = JSON.stringify({ ...ev, line: ev.line.replace(/"bytes":(\d+)/, '"bytes":1') });
    const p = join(dir, "forged.ndjson");
    writeFileSync(p, [...events, forged].join("\n") + "\n");
    const r = runVerify([p, "--pubkey", h.pubkeyPath], { json: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`two different lines for ${ev.origin} seq 300`);
  });
});

