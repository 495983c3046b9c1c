/**
 * Write failures are loud and leave no corrupt line: a real full disk (a 64 KiB tmpfs) and a
 * directory nobody may write (chattr +i). Needs root: mount and chattr.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { parseRecord } from "../../src/evidence/index.ts";
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

function mountTmpfs(size: string): string {
  const d = tempDir("ato-full-");
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "ato-test-full", d], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
  mounted = true;
  return d;
}

describe("full disk", () => {
  for (const appendOnly of [false, true]) {
    test(`is an AtoError("IO") naming the file, never a partial line${appendOnly ? " (append-only segment)" : ""}; writing resumes when space is back`, () => {
      dir = mountTmpfs("64k");
      const log = openLog(dir, h, { checkpointEvery: 25, appendOnly });
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
