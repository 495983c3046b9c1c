/**
 * Start-up repair: a torn last line (no newline, or not a record) is cut off, every complete
 * record is kept, and the repair is itself recorded as evidence (kind "repair", with the
 * byte count and SHA-256 of what was dropped). Works on an append-only file too (root).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseRecord } from "../../src/evidence/index.ts";
import { isAppendOnly } from "../../src/log/attr.ts";
import { hex, sha256 } from "../../src/tree/index.ts";
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

function writeSome(appendOnly = false): string[] {
  const log = openLog(dir, h, { checkpointEvery: 4, appendOnly });
  for (let i = 0; i < 10; i++) log.appendRecord("flow", flow(i));
  log.close();
  return readLines(join(dir, "signed_evidence.log"));
}

describe("torn last line", () => {
  for (const [name, junk, reason] of [
    ["a line without its newline", '{"class":"internal","data":{"bytes":6', "no newline"],
    ["a last line that is not a record", "\u0000\u0000\u0000garbage\n", "not a complete record"],
  ] as const) {
    test(`${name} is cut, kept complete records, and recorded as a repair`, () => {
      dir = tempDir();
      const before = writeSome();
      appendFileSync(join(dir, "signed_evidence.log"), junk);
      const log = openLog(dir, h);
      log.close();
      const after = readLines(join(dir, "signed_evidence.log"));
      expect(after.slice(0, before.length)).toEqual(before);
      const repair = parseRecord(after[before.length]!);
      expect(repair.kind).toBe("repair");
      expect(repair.seq).toBe(before.length);
      expect(repair.data).toMatchObject({ file: "signed_evidence.log", dropped_bytes: Buffer.byteLength(junk), dropped_sha256: hex(sha256(Buffer.from(junk))) });
      expect(String(repair.data.reason)).toContain(reason);
      const v = runVerify([dir, "--pubkey", h.pubkeyPath]);
      expect(v.code).toBe(0);
      expect(v.json.total.unsigned_tail).toBe(0);
    });
  }

  test("an append-only segment is repaired and stays append-only (root)", () => {
    dir = tempDir();
    const before = writeSome(true);
    expect(isAppendOnly(join(dir, "signed_evidence.log"))).toBe(true);
    appendFileSync(join(dir, "signed_evidence.log"), '{"class":"inter'); // O_APPEND is allowed under +a
    const log = openLog(dir, h, { appendOnly: true });
    log.close();
    const after = readLines(join(dir, "signed_evidence.log"));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(parseRecord(after[before.length]!).kind).toBe("repair");
    expect(isAppendOnly(join(dir, "signed_evidence.log"))).toBe(true);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("a torn first line of a new log leaves an empty segment that starts again", () => {
    dir = tempDir();
    appendFileSync(join(dir, "signed_evidence.log"), '{"class":"internal","data":{"fron');
    const log = openLog(dir, h);
    log.appendRecord("flow", flow(0));
    log.close();
    const kinds = readLines(join(dir, "signed_evidence.log")).map((l) => parseRecord(l).kind);
    expect(kinds).toEqual(["segment", "repair", "flow", "checkpoint"]);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });
});
