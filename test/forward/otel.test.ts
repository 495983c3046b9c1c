/**
 * The OTLP/HTTP logs and Loki sinks against receivers enforcing their published APIs: every
 * line verbatim with its origin and seq; OTLP's partialSuccess stops the sink naming the
 * count; Loki gets only low-cardinality labels and keeps a re-send once.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";
import { startLoki, startOtlp, type Receiver } from "./_otel.ts";

let dir: string;
let audit: string;
let rx: Receiver | undefined;

beforeEach(() => {
  dir = tempDir("ato-forward-otel-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(() => {
  rx?.stop();
  rx = undefined;
  closeLogs();
  removeDir(dir);
});

const run = (type: string) => forward(["--audit-dir", audit, "--config", writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 120 }, sinks: [{ name: "obs", type, url: rx!.url }] }), "--once"]);

describe("OTLP/HTTP logs sink", () => {
  test("one log record per line: the line as body, seq, kind and class as attributes, the origin on the resource", async () => {
    rx = startOtlp();
    const log = writeLog(audit, 300);
    const r = await run("otlp");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    expect(rx.entries.map((e) => e.line)).toEqual(lines);
    rx.entries.forEach((e, seq) => {
      expect(e.labels["ato.origin"]).toBe(log.status().origin);
      expect(e.attrs["ato.seq"]).toBe(String(seq));
      expect(e.attrs["ato.kind"]).toBe(JSON.parse(lines[seq]!).kind);
      expect(e.ns).toBe(`${Date.parse(JSON.parse(lines[seq]!).ts)}000000`);
    });
  });

  test("partialSuccess with rejected records stops the sink with the count (exit 65), never retried", async () => {
    rx = startOtlp();
    rx.rejectSeq(150);
    writeLog(audit, 300);
    const r = await run("otlp");
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("sink obs: the OTLP collector rejected 1 of 120 records (seq 120–239): log record too old");
    expect(r.stderr).not.toContain("retrying");
  });
});

describe("Loki push sink", () => {
  test("streams labelled job, origin, kind and class only; every line once, also after a full re-send", async () => {
    rx = startLoki();
    writeLog(audit, 300);
    expect((await run("loki")).code).toBe(0);
    rmSync(join(dir, "state"), { recursive: true });
    expect((await run("loki")).code).toBe(0);
    expect(rx.statuses.every((s) => s === 204)).toBe(true);
    const lines = logLines(audit);
    expect(rx.entries.length).toBe(lines.length);
    expect(new Set(rx.entries.map((e) => e.line))).toEqual(new Set(lines));
    for (const e of rx.entries) expect(Object.keys(e.labels).sort()).toEqual(["class", "job", "kind", "origin"]);
  });
});
