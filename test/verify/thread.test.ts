/**
 * The hash worker is used only where it helps, and its absence changes nothing but the time: a small
 * file, one CPU, or a worker that cannot start all give the report the single-thread path gives, on a
 * signed log and on damaged copies of it. (That the worker's own leaves give identical reports is
 * native-report.test.ts; that the compiled binary with it stays in the memory bound, memory.test.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { nativeSha256 } from "../../ffi/sha256.ts";
import { hashPool, hashWorkerForTests, hashWorkerStats } from "../../src/verify/hash-worker-pool.ts";
import { verify } from "../../src/verify/index.ts";
import { signedLog, type Fixture } from "./_fixture.ts";
import { Mutator, prng } from "./_mutations.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await signedLog({ records: 300, checkpointEvery: 16, rotateLines: 120 });
});
afterAll(() => fx?.cleanup());
afterEach(() => hashWorkerForTests(undefined));

const report = (dir: string) => JSON.stringify(verify({ paths: [dir], pubkeys: [fx.h.pubkeyPath] }).report);

/** The report with these pool options, and who hashed the leaves. */
function withPool(dir: string, o: Parameters<typeof hashWorkerForTests>[0]) {
  hashWorkerForTests(o);
  try {
    return { report: report(dir), stats: hashWorkerStats() };
  } finally {
    hashWorkerForTests(undefined);
  }
}

describe.skipIf(nativeSha256() === undefined)("the hash worker", () => {
  test("is not used for files under the threshold", () => {
    const r = withPool(fx.base, undefined);
    expect(r.stats).toEqual({ worker: 0, main: 0, wakes: 0 });
    expect(JSON.parse(r.report).result).toBe("verified");
  });

  test("is not used on a machine with one CPU, and the report is the same", () => {
    const single = report(fx.base);
    const r = withPool(fx.base, { minBytes: 0, cpus: () => 1 });
    expect(r.stats).toEqual({ worker: 0, main: 0, wakes: 0 });
    expect(r.report).toBe(single);
  });

  test("that cannot start leaves every chunk to the verifier's thread, with the same reports", () => {
    const bogus = () => new URL("./no-such-hash-worker.ts", import.meta.url).href;
    for (const seed of [0, 3, 7, 11]) {
      const dir = seed === 0 ? fx.base : fx.copy();
      if (seed > 0) new Mutator(dir, prng(seed)).one();
      const single = report(dir);
      const r = withPool(dir, { minBytes: 0, url: bogus });
      expect(r.stats.worker).toBe(0);
      expect(r.stats.main).toBeGreaterThan(0);
      expect(r.report).toBe(single);
    }
  });

  test("that went back to its event loop between two reads is woken by the next one", () => {
    const single = report(fx.base);
    hashWorkerForTests({ minBytes: 0, takeBack: false, stallMs: 5000 });
    try {
      expect(report(fx.base)).toBe(single);
      const first = hashWorkerStats();
      Bun.sleepSync(600); // past the worker's IDLE_MS: it leaves the doorbell for its event loop
      expect(report(fx.base)).toBe(single);
      const second = hashWorkerStats();
      expect(second.wakes).toBeGreaterThan(first.wakes);
      expect(second.worker).toBeGreaterThan(first.worker);
      expect(second.main).toBe(0); // every job the worker's: none waited out the stall limit
    } finally {
      hashWorkerForTests(undefined);
    }
  });

  test("that dies holding a job is given up after the stall limit, and the reports are the same", () => {
    const dying = () => new URL("./_dying-worker.ts", import.meta.url).href;
    for (const seed of [0, 5]) {
      const dir = seed === 0 ? fx.base : fx.copy();
      if (seed > 0) new Mutator(dir, prng(seed)).one();
      const single = report(dir);
      for (const takeBack of [true, false]) {
        hashWorkerForTests({ minBytes: 0, takeBack, stallMs: 300, url: dying });
        try {
          expect(report(dir)).toBe(single);
          // Without take-back it surely claimed one; with it, this thread may have taken every job first.
          if (!takeBack) expect(hashPool(1 << 30)).toBeUndefined(); // the pool whose worker stalled is not used again
        } finally {
          hashWorkerForTests(undefined);
        }
      }
    }
  });
});
