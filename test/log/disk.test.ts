/**
 * Write failures are loud and leave no corrupt line: a real full disk (a 64 KiB tmpfs) and a
 * directory nobody may write (chattr +i). Needs root: mount and chattr.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { parseRecord } from "../../src/evidence/index.ts";
import { mountTmpfs as mountOn } from "../support/disk.ts";
import { closeLogs, flow, hsm, openLog, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

let h: Hsm;
let dir: string | undefined;
let mounted = false;
beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (mounted && dir) Bun.spawnSync(["umount", "-l", dir]);
  mounted = false;
  if (dir) removeDir(dir);
  dir = undefined;
});

function mountTmpfs(size: string, more = ""): string {
  const d = tempDir("ato-full-");
  mountOn(d, `size=${size}${more}`, "ato-test-full");
  mounted = true;
  return d;
}

describe("full disk", () => {
  for (const [appendOnly, groupCommit] of [[false, false], [true, false], [false, true]]) {
    test(`is an AtoError("IO") naming the file, never a partial line${appendOnly ? " (append-only segment)" : ""}${groupCommit ? " (group commit)" : ""}; writing resumes when space is back`, () => {
      dir = mountTmpfs("64k");
      const log = openLog(dir, h, { checkpointEvery: 25, appendOnly, groupCommit });
      const pad = "x".repeat(700);
      let written = 0;
      let error: unknown;
      for (let i = 0; i < 10_000; i++) {
        try {
          log.appendRecord("flow", { ...flow(i), pad });
          written++;
        } catch (e) {
          error = e;
          break;
        }
      }
      expect(error).toBeInstanceOf(AtoError);
      expect((error as AtoError).code).toBe("IO");
      expect((error as AtoError).message).toContain(join(dir, "signed_evidence.log"));
      expect((error as AtoError).message).toMatch(/disk full|no space/);
      const text = readFileSync(join(dir, "signed_evidence.log"), "utf8");
      expect(text.endsWith("\n")).toBe(true);
      const recs = text.split("\n").slice(0, -1).map(parseRecord);
      expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i));
      expect(recs.filter((r) => r.kind === "flow")).toHaveLength(written);

      expect(Bun.spawnSync(["mount", "-o", "remount,size=2m", dir]).exitCode).toBe(0);
      log.appendRecord("flow", flow(written));
      log.close();
      expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
    });
  }
});

describe("a checkpoint that cannot be written", () => {
  test("does not undo the records before it: the append returns, onError and status().writable say why, the next write retries", () => {
    // Two inodes: the tmpfs root and the active segment. The rotation after the first checkpoint
    // renames the segment, then finds no inode to start the next one.
    dir = mountTmpfs("1m", ",nr_inodes=2");
    const errors: Error[] = [];
    const log = openLog(dir, h, { checkpointEvery: 5, rotateLines: 5, onError: (e) => errors.push(e) });
    const out = log.appendRecords("flow", [0, 1, 2, 3].map(flow)); // with the segment line: 5 lines, then the checkpoint
    expect(out.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AtoError);
    expect((errors[0] as AtoError).code).toBe("IO");
    expect(errors[0]!.message).toMatch(/no space left/);
    expect(log.status().writable).toEqual({ ok: false, error: errors[0]!.message });
    expect(log.counters().writeErrors).toBe(1);
    const rotated = readFileSync(join(dir, "signed_evidence.000001.log"), "utf8").split("\n").slice(0, -1).map(parseRecord);
    expect(rotated.map((r) => r.kind)).toEqual(["segment", "flow", "flow", "flow", "flow", "checkpoint"]);

    expect(() => log.appendRecord("flow", flow(4))).toThrow(/no space left/); // still no inode: nothing written
    expect(log.counters().writeErrors).toBe(2);
    expect(Bun.spawnSync(["mount", "-o", "remount,nr_inodes=16", dir]).exitCode).toBe(0);
    expect(log.appendRecord("flow", flow(5)).seq).toBe(7); // after segment 2's own segment line
    expect(log.status().writable).toEqual({ ok: true });
    log.close();
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });
});

describe("a batch written in pieces", () => {
  test("that fails after its first piece says which records were written: they stay, the rest is not written", () => {
    dir = mountTmpfs("1m", ",nr_inodes=2"); // as above: the rotation after the first checkpoint cannot start segment 2
    const log = openLog(dir, h, { checkpointEvery: 10, rotateLines: 10, onError: () => {} });
    let error: unknown;
    try {
      log.appendRecords("flow", Array.from({ length: 25 }, (_, i) => flow(i)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AtoError);
    expect((error as AtoError).code).toBe("IO");
    expect((error as AtoError).message).toEndWith("; the first 9 of these 25 flow records (seq 1 to 9) were written before it");
    const kinds = readFileSync(join(dir, "signed_evidence.000001.log"), "utf8").split("\n").slice(0, -1).map((l) => parseRecord(l).kind);
    expect(kinds).toEqual(["segment", ...Array(9).fill("flow"), "checkpoint"]);
    expect(Bun.spawnSync(["mount", "-o", "remount,nr_inodes=16", dir]).exitCode).toBe(0);
    log.close();
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });
});

describe("unwritable audit directory", () => {
  test("opening is an AtoError(\"IO\") naming the path", () => {
    dir = tempDir();
    Bun.spawnSync(["chattr", "+i", dir]);
    let error: unknown;
    try {
      openLog(join(dir, "audit"), h);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AtoError);
    expect((error as AtoError).code).toBe("IO");
    expect((error as AtoError).message).toContain(join(dir, "audit"));
  });
});
