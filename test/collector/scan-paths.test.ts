/**
 * The collector reads the real flow map the same way through either scan (src/collector/scan.ts): the native
 * routine where it runs (the product path on x86-64) and the TypeScript loop (arm64, or no library). Both
 * give the same cycles and the same records: growth per protocol each cycle, nothing recorded before the
 * active timeout, the old growth of an entry made anew as `recreated`, and at shutdown every flow's rest, so
 * the sum of each flow's records is what the kernel counted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceScanPathForTests, nativeScan } from "../../ffi/scan.ts";
import { scanPath } from "../../src/collector/index.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { BEGAN, CPUS, put, records, setup, useCollectorLab } from "./_lab.ts";

useCollectorLab();
afterEach(() => forceScanPathForTests(undefined));

const FLOWS = 300;
const S = 1_000_000_000n;

async function scenario() {
  const { dir, log, collector } = setup(undefined, 3600n * S, {}, 3600n * S);
  collector.start();
  const spread = (n: number) => (CPUS > 1 ? [n - Math.floor(n / 2), Math.floor(n / 2)] : [n]);
  for (let i = 1; i <= FLOWS; i++) put(i, spread(5));
  const first = await collector.cycle();
  for (let i = 1; i <= FLOWS / 2; i++) put(i, spread(9)); // grown by 4
  put(FLOWS, spread(2), monotonicNs(), BEGAN + 1_000n); // made anew: another first_seen, fewer packets
  const second = await collector.cycle();
  const third = await collector.cycle(); // nothing changed
  const final = await collector.cycle({ final: true });
  log.close();
  return { first, second, third, final, recs: records(dir) };
}

function expectTheSame(r: Awaited<ReturnType<typeof scenario>>): void {
  expect(r.first).toMatchObject({ flows: FLOWS, records: 0 });
  expect(r.first.byProto.get(6)).toEqual({ packets: 5 * FLOWS, bytes: 500 * FLOWS });
  expect(r.second).toMatchObject({ flows: FLOWS, records: 1, reasons: { recreated: 1 } });
  expect(r.second.byProto.get(6)).toEqual({ packets: 4 * (FLOWS / 2) + 2, bytes: 400 * (FLOWS / 2) + 200 });
  expect(r.third).toMatchObject({ flows: FLOWS, records: 0 });
  expect(r.third.byProto.size).toBe(0);
  expect(r.final).toMatchObject({ flows: FLOWS, records: FLOWS, reasons: { shutdown: FLOWS } });
  const total = r.recs.reduce((n, x) => n + x.packets, 0);
  expect(total).toBe(9 * (FLOWS / 2) + 5 * (FLOWS / 2 - 1) + 5 + 2); // every packet the kernel counted, once
  expect(r.recs.filter((x) => x.reason === "recreated").map((x) => x.packets)).toEqual([5]);
}

describe("the collector's map read", () => {
  test("through the TypeScript scan", async () => {
    forceScanPathForTests(false);
    expect(scanPath()).toBe("typescript (forced by a test)");
    expectTheSame(await scenario());
  });

  test.skipIf(!nativeScan())("through the native scan: the same cycles and records", async () => {
    expect(scanPath()).toBe("native");
    expectTheSame(await scenario());
  });
});
