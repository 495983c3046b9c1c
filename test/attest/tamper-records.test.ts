/**
 * A tamper finding is told once, when it is found, and the self-check and the conservation check never report it
 * again; so one whose record a full disk refused waits (src/attest/tamper-records.ts) and is written, in the order
 * found, at the next write with room. On a real full disk (a 64 KiB tmpfs) with a SoftHSM-signed log, checked by
 * `ato verify`. Needs root: mount.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { TamperRecords } from "../../src/attest/tamper-records.ts";
import type { TamperFinding } from "../../src/attest/self-check.ts";
import { mountTmpfs } from "../support/disk.ts";
import { closeLogs, hsm, openLog, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";

let h: Hsm;
let dir: string | undefined;
beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (dir) {
    Bun.spawnSync(["umount", "-l", dir]);
    removeDir(dir);
  }
  dir = undefined;
});

function fullTmpfs(size: string): string {
  dir = tempDir("ato-tamper-full-");
  mountTmpfs(dir, `size=${size}`, "ato-test-tamper");
  return dir;
}

/** Findings of one size: the `n`s are four digits. */
function finding(n: number): TamperFinding {
  return { tamper: "counts_missing", subject: "flow_map", expected: { packets_at_least: String(1000 + n) }, found: { packets: "1000", missing_at_least: String(n + 1000) }, action: "re-based: later checks count from here" };
}

/** The tamper records' data in the log, in order. */
function tampers(d: string): Record<string, unknown>[] {
  return readFileSync(join(d, "signed_evidence.log"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === "tamper").map((r) => r.data);
}

describe("tamper records on a full disk", () => {
  test("a finding the disk refused is told once, waits, and is written first when there is room, in the order found", () => {
    const d = fullTmpfs("64k");
    const log = openLog(d, h, { checkpointEvery: 1_000_000 });
    // Filled with records of the findings' own size: what is left is less than one more.
    let filled = 0;
    for (;;) {
      try {
        log.appendRecord("tamper", finding(0) as unknown as Record<string, unknown>);
        filled++;
      } catch (e) {
        expect(e).toBeInstanceOf(AtoError);
        expect((e as AtoError).code).toBe("IO");
        break;
      }
    }
    expect(filled).toBeGreaterThan(10);

    const told: TamperFinding[] = [];
    const said: string[] = [];
    const records = new TamperRecords((f) => told.push(f), (m) => said.push(m));
    records.record(log, [finding(1)]); // not thrown: the interval goes on
    records.record(log, [finding(2)]);
    expect(told).toEqual([finding(1), finding(2)]);
    expect(records.waiting).toBe(2);
    expect(said).toHaveLength(2);
    expect(said[1]).toMatch(/^2 tamper record\(s\) not written yet, kept for the next write: .*(disk full|no space)/);
    expect(said[1]).toContain(join(d, "signed_evidence.log"));
    expect(tampers(d)).toHaveLength(filled);

    expect(Bun.spawnSync(["mount", "-o", "remount,size=2m", d]).exitCode).toBe(0);
    records.record(log, []); // the next interval, with nothing new found
    expect(records.waiting).toBe(0);
    expect(told).toHaveLength(2); // told when found, not again when written
    records.record(log, [finding(3)]);
    log.close();
    expect(tampers(d).slice(filled)).toEqual([finding(1), finding(2), finding(3)].map((f) => f as unknown as Record<string, unknown>));
    expect(runVerify([d, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("an error that is not the disk's is thrown, and the finding still waits", () => {
    const d = fullTmpfs("1m");
    const log = openLog(d, h);
    log.close();
    const records = new TamperRecords(() => {}, () => {});
    let error: unknown;
    try {
      records.record(log, [finding(1)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AtoError);
    expect((error as AtoError).code).toBe("INTERNAL");
    expect(records.waiting).toBe(1);
  });
});
