/**
 * Flows the collector's table does not hold yet (a burst's first read; with lazy reads, often the
 * final collection of a stop) are taken in by the scan's own loop (scan.ts's takeNew), not the
 * general path. On the real flow map, a plain collector is compared with one whose onRead hook
 * keeps every new flow on the general path: the same records, reasons and per-protocol growth at
 * a first read and at a final one where flows due at shutdown share the batches with new ones that
 * make the table grow. A second final collection writes nothing, and each flow's records add up to
 * what the kernel counted. On a table alone: the slots handed back DUE still hold their flows when
 * the new ones made the table rebuild, and a flow held at another slot goes on with that slot as its hint.
 * The native take-in (asm/flow_new.asm) and the TypeScript one give the same cycles and records on the real
 * map over random rounds (test/collector/flow-new.test.ts compares them bit for bit on a table alone).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { monotonicNs } from "../../ffi/libc.ts";
import { forceScanPathForTests, nativeScan } from "../../ffi/scan.ts";
import { FlowBatch, FLOW_VALUE } from "../../src/kernel/index.ts";
import { BatchScan, DUE, SLOW } from "../../src/collector/scan.ts";
import { FlowTable, KEY_WORDS, ROW, R_FIRST_SEEN, R_LAST_SEEN, R_READ_PACKETS } from "../../src/collector/table.ts";
import { bpf, CPUS, HOUR_NS, put, records, setup, useCollectorLab } from "./_lab.ts";

useCollectorLab();
afterEach(() => forceScanPathForTests(undefined));

const S = 1_000_000_000n;
/** Flow j's key index: each on its own masked /24 pair (src 198.18.(j & 255).0, dst 198.19.(j >> 8).0). */
const flow = (j: number) => j * 256;
const named = (j: number) => `198.18.${j & 255}.0/24 198.19.${j >> 8}.0/24`;
const spread = (n: number) => (CPUS > 1 ? [n - Math.floor(n / 3), Math.floor(n / 3)] : [n]);
/** What a record says of its flow, without its wall times (each collector has its own clock offset). */
const what = (r: Record<string, any>) => [r.src, r.dst, r.packets, r.packets_total, r.bytes, r.bytes_total, r.reason].join(" ");
const byFlow = (recs: Record<string, any>[]) => {
  const m = new Map<string, number>();
  for (const r of recs) m.set(`${r.src} ${r.dst}`, (m.get(`${r.src} ${r.dst}`) ?? 0) + r.packets);
  return m;
};

/** Two collectors on the same map, each with its own log: the plain one, and one whose (listening) onRead hook keeps every new flow on the general path. */
function pair(activeNs: bigint) {
  const a = setup(undefined, HOUR_NS, {}, activeNs);
  const g = setup(undefined, HOUR_NS, {}, activeNs, undefined, () => {});
  a.collector.start();
  g.collector.start();
  return { a, g };
}

describe("flows the table does not hold yet", () => {
  test("a first read takes each in as the general path does: the same records (active for the old ones), growth, and nothing due after", async () => {
    const { a, g } = pair(10n * S);
    const now = monotonicNs();
    for (let j = 1; j <= 700; j++) put(flow(j), spread((j % 7) + 1), now, j % 2 ? now - 20n * S : now); // odd ones began 20 s ago: past the active timeout
    const [ca, cg] = [await a.collector.cycle(), await g.collector.cycle()];
    expect(ca).toMatchObject({ flows: 700, records: 350, reasons: { active: 350 } });
    expect(cg).toMatchObject({ records: ca.records, reasons: ca.reasons });
    expect(ca.byProto).toEqual(cg.byProto);
    expect(records(a.dir).map(what)).toEqual(records(g.dir).map(what));
    // The young ones were taken in, not recorded; the old ones' active timeout runs again from their record.
    expect((await a.collector.cycle()).records).toBe(0);
    expect((await g.collector.cycle()).records).toBe(0);
    a.log.close();
    g.log.close();
  });

  test("a new flow already idle at its first read leaves the map with its record (idle); the young one beside it waits", async () => {
    const { dir, log, collector } = setup(undefined, 1n * S, {}, HOUR_NS);
    collector.start();
    const now = monotonicNs();
    put(flow(1), spread(4), now - 3n * S, now - 4n * S); // its last packet 3 s ago: past the 1-s idle timeout
    put(flow(2), spread(5), now, now);
    expect(await collector.cycle()).toMatchObject({ flows: 2, records: 1, removed: 1, reasons: { idle: 1 } });
    expect(records(dir).map(what)).toEqual([`198.18.1.0/24 198.19.0.0/24 4 4 400 400 idle`]);
    expect(await collector.cycle({ final: true })).toMatchObject({ flows: 1, records: 1, reasons: { shutdown: 1 } });
    log.close();
  });

  test("the final collection: flows due at shutdown and new ones in the same batches, the table growing under them; a second final writes nothing", async () => {
    const { a, g } = pair(HOUR_NS);
    const began = monotonicNs() - 5n * S, counted = new Map<string, number>();
    const at = (j: number, packets: number) => {
      put(flow(j), spread(packets), monotonicNs(), began);
      counted.set(named(j), packets);
    };
    for (let j = 1; j <= 700; j++) at(j, 3); // 700 flows in a table of 1,024 slots (716 within its load): the new ones outgrow it
    expect((await a.collector.cycle()).records).toBe(0);
    expect((await g.collector.cycle()).records).toBe(0);
    for (let j = 1; j <= 700; j += 2) at(j, 3 + (j % 5)); // half grown, all with growth waiting since the first read
    for (let j = 701; j <= 1000; j++) at(j, (j % 4) + 1); // new, between them in the map's order
    const [fa, fg] = [await a.collector.cycle({ final: true }), await g.collector.cycle({ final: true })];
    expect(fa).toMatchObject({ flows: 1000, records: 1000, reasons: { shutdown: 1000 } });
    expect(fa.byProto).toEqual(fg.byProto);
    expect(records(a.dir).map(what).sort()).toEqual(records(g.dir).map(what).sort());
    // Every flow stays in the table with its record: a second final collection has nothing to record.
    expect(await a.collector.cycle({ final: true })).toMatchObject({ flows: 1000, records: 0 });
    a.log.close();
    g.log.close();
    expect(byFlow(records(a.dir))).toEqual(counted);
  });
});

/** takeNew's two paths: the TypeScript loop, and asm/flow_new.asm's where it runs. */
const PATHS = [["typescript", undefined], ...(nativeScan() ? [["native", nativeScan()]] : [])] as const;

for (const [path, native] of PATHS) describe(`BatchScan.takeNew on a table alone (${path})`, () => {
  const keyOf = (j: number) => {
    const w = new Uint32Array(KEY_WORDS);
    w[0] = 0x0a000001 + j; w[4] = 0x0a000002; w[11] = 4 | (17 << 8);
    return w;
  };
  const NOW = 1e12, BEGAN = NOW - 1e9;
  const put64 = (w: Uint32Array, at: number, v: number) => { w[at] = v % 2 ** 32; w[at + 1] = Math.floor(v / 2 ** 32); };

  test("a first read of 4,096 new flows grows the table once, to what inserting them one by one ends at", () => {
    const t = new FlowTable(1024), n = 4096, b = new FlowBatch(n, 1), order = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      b.keyWords.set(keyOf(i), i * KEY_WORDS);
      const o = i * (b.valueBytes >> 2);
      put64(b.valueWords, o + (FLOW_VALUE.packets >> 2), 1);
      put64(b.valueWords, o + (FLOW_VALUE.firstSeenNs >> 2), BEGAN);
      put64(b.valueWords, o + (FLOW_VALUE.lastSeenNs >> 2), NOW);
    }
    b.n = n;
    const scan = new BatchScan({ idleBefore: NOW - 60e9, idleNs: 60e9, nowNs: NOW, activeNs: 60e9, final: true, hooked: false }, null);
    scan.run(b, order, 0, t, 1);
    if (native) scan.takeNew(b, order, 0, t, 1, native); else scan.takeNewTs(b, order, 0, t, 1);
    expect([scan.n, t.size, t.epoch, t.capacity]).toEqual([n, n, 1, 8192]); // one rebuild (each re-inserts every flow before it)
    for (let h = 0; h < n; h++) expect(t.holds(scan.slot[h]!, b.keyWords, h * KEY_WORDS)).toBe(true);
  });

  for (const newFirst of [false, true]) {
    test(`the flows handed back DUE still hold their slots when the new ones ${newFirst ? "before" : "after"} them in the batch made the table rebuild`, () => {
      const t = new FlowTable(1024); // 716 flows within its load
      const known = 700, fresh = 100, all = known + fresh, b = new FlowBatch(all, 1), order = new Int32Array(all).fill(-1);
      for (let j = 0; j < known; j++) t.upsert(keyOf(j), 0);
      // The batch: the known flows (j < 700) at the positions of the slots they hold, grown; the new ones before or after them.
      const flowAt = (i: number) => (newFirst ? (i < fresh ? known + i : i - fresh) : i);
      for (let i = 0; i < all; i++) {
        const j = flowAt(i);
        b.keyWords.set(keyOf(j), i * KEY_WORDS);
        const o = i * (b.valueBytes >> 2);
        put64(b.valueWords, o + (FLOW_VALUE.packets >> 2), 2 + (j % 3));
        put64(b.valueWords, o + (FLOW_VALUE.firstSeenNs >> 2), BEGAN);
        put64(b.valueWords, o + (FLOW_VALUE.lastSeenNs >> 2), NOW);
        if (j >= known) continue;
        const s = t.find(keyOf(j), 0);
        order[i] = j % 10 === 9 ? -1 : s; // every tenth as if the map's order had moved: no hint
        t.row[s * ROW + R_READ_PACKETS] = 2; t.row[s * ROW + R_FIRST_SEEN] = BEGAN; t.row[s * ROW + R_LAST_SEEN] = BEGAN;
      }
      b.n = all;
      const scan = new BatchScan({ idleBefore: NOW - 60e9, idleNs: 60e9, nowNs: NOW, activeNs: 60e9, final: true, hooked: false }, null);
      const epoch = t.epoch;
      scan.run(b, order, 0, t, 1);
      expect(scan.n).toBe(all); // the known ones DUE at shutdown (SLOW without a hint), the new ones SLOW
      if (native) scan.takeNew(b, order, 0, t, 1, native); else scan.takeNewTs(b, order, 0, t, 1);
      expect(t.epoch).not.toBe(epoch); // the new ones did not fit: the table was rebuilt, its slots moved
      expect(t.size).toBe(all);
      expect(scan.n).toBe(all); // in batch order: DUE at the slot that holds it now, or SLOW (held, no hint) with that slot as its hint
      for (let h = 0; h < scan.n; h++) {
        const j = flowAt(h), unhinted = j < known && j % 10 === 9;
        expect([scan.index[h], scan.kind[h]]).toEqual([h, unhinted ? SLOW : DUE]);
        expect(order[h]).toBe(t.find(b.keyWords, h * KEY_WORDS)); // the hint for the general path and the next read
        if (unhinted) continue;
        expect(scan.slot[h]).toBe(order[h]!);
        expect(t.row[scan.slot[h]! * ROW + R_READ_PACKETS]).toBe(2 + (j % 3));
      }
    });
  }
});

describe("the native take-in and the TypeScript one on the real flow map", () => {
  function rng(seed: number) {
    let x = seed >>> 0;
    return () => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  }
  /** Random rounds on the map, from an empty one: what each cycle said, and every record. */
  async function rounds(seed: number) {
    const next = rng(seed), pick = (n: number) => Math.floor(next() * n);
    const { dir, log, collector } = setup(undefined, 10n * S, {}, HOUR_NS); // idle after 10 s
    collector.start();
    const began = monotonicNs() - 30n * S, packets = new Map<number, number>();
    const at = (j: number, p: number, lastAgo = 0n, first = began) => { put(flow(j), spread(p), monotonicNs() - lastAgo * S, first); packets.set(j, p); };
    const cycles: unknown[] = [];
    const cycle = async (final = false) => {
      const c = await collector.cycle({ final });
      cycles.push({ ...c, seconds: 0, byProto: [...c.byProto].sort() });
    };
    for (let j = 1; j <= 600; j++) at(j, 1 + pick(9), pick(10) === 0 ? 20n : 0n); // a first read into an empty table: new ones, some idle
    await cycle();
    for (let j = 1; j <= 600; j++) {
      if (!packets.has(j)) continue;
      const c = next(), p = packets.get(j)!;
      if (c < 0.4) at(j, p + 1 + pick(5)); // grown
      else if (c < 0.45) at(j, 1, 0n, began + 1000n); // made anew: another first_seen, fewer packets
      else if (c < 0.5) at(j, p, 20n); // gone idle
    }
    for (let j = 601; j <= 1100; j++) at(j, 1 + pick(9), pick(10) === 0 ? 20n : 0n); // new between them, past the table's load
    await cycle();
    for (let j = 1101; j <= 1300; j++) at(j, 1 + pick(9));
    await cycle(true);
    await cycle(true); // nothing left to record
    log.close();
    const recs = records(dir).map(what).sort();
    bpf.reset();
    return { cycles, recs };
  }

  test.skipIf(!nativeScan())("the same cycles, reasons, growth and records over random rounds (idle, made anew, growing mid-batch, final)", async () => {
    for (const seed of [1, 2]) {
      const native = await rounds(seed);
      forceScanPathForTests(false);
      const ts = await rounds(seed);
      forceScanPathForTests(undefined);
      expect(native.cycles).toEqual(ts.cycles);
      expect(native.recs).toEqual(ts.recs);
      expect((native.cycles[2] as { records: number }).records).toBeGreaterThan(1000);
      expect((native.cycles[3] as { records: number }).records).toBe(0);
    }
  });
});
