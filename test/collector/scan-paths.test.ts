/**
 * The collector reads the real flow map the same way through either scan (src/collector/scan.ts): the native
 * routine where it runs (the product path on x86-64) and the TypeScript loop (arm64, or no library). Both
 * give the same cycles and the same records: growth per protocol each cycle, nothing recorded before the
 * active timeout, the old growth of an entry made anew as `recreated`, and at shutdown every flow's rest, so
 * the sum of each flow's records is what the kernel counted. Two collectors on one map, one on each scan, write
 * the same records in the same order (the native one puts its due flows into the chunk itself: scan.ts) through
 * cycles where flows grow, arrive in the middle of batches, are made anew, across chunks and count checkpoints.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceScanPathForTests, nativeScan } from "../../ffi/scan.ts";
import { scanPath } from "../../src/collector/index.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { BEGAN, CPUS, put, records, setup, useCollectorLab } from "./_lab.ts";
import type { CycleSummary } from "../../src/collector/index.ts";

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

describe.skipIf(!nativeScan())("two collectors on one map, one on each scan", () => {
  /** A record without its wall times (each collector has its own clock offset). */
  const timeless = (r: Record<string, any>) => Object.fromEntries(Object.entries(r).filter(([, v]) => !(typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v))));
  const same = (a: CycleSummary, b: CycleSummary) => {
    expect([a.flows, a.records, a.removed, a.read]).toEqual([b.flows, b.records, b.removed, b.read]);
    expect(a.reasons).toEqual(b.reasons);
    expect([...a.byProto].sort()).toEqual([...b.byProto].sort());
  };

  test("write the same records in the same order, cycle after cycle, new flows among grown ones, and at shutdown", async () => {
    forceScanPathForTests(false);
    const ts = setup(undefined, 3600n * S);
    forceScanPathForTests(undefined);
    const nat = setup(undefined, 3600n * S);
    ts.collector.start(); nat.collector.start();
    let s = 7;
    const next = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
    const spread = (n: number) => (CPUS > 1 ? [n - Math.floor(n / 3), Math.floor(n / 3)] : [n]);
    const packets = new Map<number, number>();
    let flows = 0, cycles = 0;
    const grow = (share: number, born: number) => {
      for (const [j, p] of packets) if (next() < share) { packets.set(j, p + 1 + Math.floor(next() * 9)); put(j, spread(packets.get(j)!)); }
      for (let k = 0; k < born; k++) { const j = ++flows; packets.set(j, 1 + Math.floor(next() * 5)); put(j, spread(packets.get(j)!)); }
    };
    const cycle = async (final = false) => {
      const a = await ts.collector.cycle({ final }), b = await nat.collector.cycle({ final });
      same(a, b);
      cycles++;
      return b;
    };
    grow(0, 1500);
    expect((await cycle()).records).toBe(1500); // every interval: each flow's first growth
    for (let r = 0; r < 4; r++) {
      grow(r === 1 ? 1 : 0.6, r === 2 ? 0 : r === 1 ? 400 : 40); // most grow; new flows move others in the map's order
      if (r === 3) put(5, spread(1), monotonicNs(), BEGAN + 1_000n); // made anew
      await cycle();
    }
    // Every third flow made anew (slow: the general path), the others grown (due), at the same places in the map:
    // the scan stops behind each slow flow, then (past its limit per batch) hands back the rest.
    for (const [j, p] of packets) {
      if (j % 3 === 0) { packets.set(j, 2); put(j, spread(2), monotonicNs(), BEGAN + 2_000n); } else { packets.set(j, p + 1); put(j, spread(p + 1)); }
    }
    expect((await cycle()).records).toBeGreaterThan(1500);
    grow(0.3, 10);
    expect((await cycle(true)).reasons.shutdown).toBeGreaterThan(400);
    ts.log.close(); nat.log.close();
    const [a, b] = [records(ts.dir).map(timeless), records(nat.dir).map(timeless)];
    expect(a.length).toBeGreaterThan(5000);
    expect(b).toEqual(a);
    expect(cycles).toBe(7);
  });
});
