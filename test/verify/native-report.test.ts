/**
 * Every hash path gives the same verdicts: the report of `verify` with the native hasher equals,
 * field for field, the one with Bun.SHA256 (forced through ffi's test hook) and the one whose leaves
 * the hash worker made (src/verify/hash-worker*.ts, forced on for small files) on a signed log and
 * on damaged copies of it; and the compiled binary with no native library at hand (ATO_LIB_DIR
 * pointing at an empty directory) verifies as usual.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { forceSha256PathForTests, nativeSha256 } from "../../ffi/sha256.ts";
import { hashPool, hashWorkerForTests, hashWorkerStats } from "../../src/verify/hash-worker-pool.ts";
import { verify } from "../../src/verify/index.ts";
import { signedLog, type Fixture } from "./_fixture.ts";
import { Mutator, prng } from "./_mutations.ts";

let fx: Fixture;
let pem: string;
beforeAll(async () => {
  fx = await signedLog({ records: 400, checkpointEvery: 16, rotateLines: 90 });
  pem = fx.h.pubkeyPath;
});
afterAll(() => fx?.cleanup());
afterEach(() => {
  forceSha256PathForTests(undefined);
  hashWorkerForTests(undefined);
});

/** "threaded": the hash worker on every file however small, and it alone hashes the leaves (none taken back). */
function report(dir: string, path: "native" | "bun" | "threaded") {
  forceSha256PathForTests(path === "bun" ? false : undefined);
  hashWorkerForTests(path === "threaded" ? { minBytes: 0, takeBack: false } : undefined);
  try {
    return JSON.stringify(verify({ paths: [dir], pubkeys: [pem] }).report);
  } finally {
    forceSha256PathForTests(undefined);
    if (path === "threaded") expect(hashWorkerStats()).toMatchObject({ main: 0 });
    if (path === "threaded") expect(hashWorkerStats().worker).toBeGreaterThan(0);
    hashWorkerForTests(undefined);
  }
}

describe("the native, the threaded and the portable hash path", () => {
  test.skipIf(nativeSha256() === undefined)("give identical reports on the intact log and on 24 damaged copies", () => {
    const intact = report(fx.base, "native");
    expect(JSON.parse(intact).result).toBe("verified");
    expect(report(fx.base, "bun")).toBe(intact);
    expect(report(fx.base, "threaded")).toBe(intact);
    const verdicts = new Set<string>();
    for (let seed = 1; seed <= 24; seed++) {
      const dir = fx.copy();
      const m = new Mutator(dir, prng(seed));
      for (let i = 0; i < 1 + (seed % 3); i++) m.one();
      const r = report(dir, "native");
      expect(report(dir, "bun")).toBe(r);
      expect(report(dir, "threaded")).toBe(r);
      verdicts.add(JSON.parse(r).result);
    }
    expect(verdicts.size).toBeGreaterThan(1); // the copies were damaged in more than one way
  });

  test.skipIf(nativeSha256() === undefined)("a worker that stalls mid-job and then scribbles on its slots changes no verdict", () => {
    const intact = report(fx.base, "native");
    const damaged = fx.copy();
    new Mutator(damaged, prng(7)).one();
    const wasDamaged = report(damaged, "native");
    for (const [dir, want] of [[fx.base, intact], [damaged, wasDamaged]] as const) {
      hashWorkerForTests({ minBytes: 0, takeBack: false, stallMs: 200, url: () => resolve(import.meta.dir, "_stalling-worker.ts") });
      const r = JSON.stringify(verify({ paths: [dir], pubkeys: [pem] }).report);
      expect(r).toBe(want);
      expect(hashPool(1 << 30)).toBeUndefined(); // the stalled pool is given up for good
      hashWorkerForTests(undefined);
    }
  });

  const dist = resolve(import.meta.dir, "../../dist/ato");
  test.skipIf(!existsSync(dist))("the compiled binary with no native library verifies the same log the same way", () => {
    const empty = mkdtempSync(join(tmpdir(), "ato-nolib-"));
    try {
      const run = (env: Record<string, string>) => Bun.spawnSync([dist, "verify", fx.base, "--pubkey", pem, "--json"], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
      const withLib = run({});
      const without = run({ ATO_LIB_DIR: empty });
      expect(without.exitCode).toBe(0);
      expect(withLib.exitCode).toBe(0);
      expect(without.stdout.toString()).toBe(withLib.stdout.toString());
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
