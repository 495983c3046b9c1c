/**
 * The log reader at the moment of a rotation: the full segment renamed, the new active file
 * created but its first line not yet complete. The reader waits there (no error, no lines)
 * and goes on once the line is written.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LogReader } from "../../src/forward/reader.ts";
import { closeLogs, logLines, removeDir, tempDir, writeLog } from "./_helpers.ts";

let dir: string;
beforeEach(() => {
  dir = tempDir("ato-forward-reader-");
  mkdirSync(join(dir, "audit"));
});
afterEach(() => {
  closeLogs();
  removeDir(dir);
});

describe("LogReader across a rotation", () => {
  test("a new active file without its complete first line: wait, then continue", () => {
    const audit = join(dir, "audit");
    writeLog(audit, 300, { rotateLines: 100, checkpointEvery: 50 }).close();
    const lines = logLines(audit);
    const active = join(audit, "signed_evidence.log");
    const whole = readFileSync(active);
    writeFileSync(active, whole.subarray(0, 20)); // the writer has only begun the segment line
    const r = new LogReader(audit);
    try {
      let c = r.start(undefined)!;
      const got: string[] = [];
      for (let i = 0; i < 50; i++) {
        const b = r.read(c, { records: 64, bytes: 1 << 20 });
        got.push(...b.events.map((e) => e.line));
        c = b.next;
      }
      const before = lines.length - whole.toString().split("\n").length + 1;
      expect(got).toEqual(lines.slice(0, before));
      writeFileSync(active, whole);
      for (let i = 0; i < 50; i++) {
        const b = r.read(c, { records: 64, bytes: 1 << 20 });
        got.push(...b.events.map((e) => e.line));
        c = b.next;
      }
      expect(got).toEqual(lines);
    } finally {
      r.close();
    }
  });
});
