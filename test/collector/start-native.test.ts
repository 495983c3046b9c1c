/**
 * The collector's start on a reused map takes the preexisting flows in through the native new-flow routine
 * (asm/flow_new.asm's ato_new_batch, src/collector/preexisting.ts) where it runs, and leaves the table exactly
 * as the TypeScript path (Baseline.preexisting, flow by flow) leaves it: the same keys at the same slots, every
 * row bit for bit (recorded = read counts as of the start, first and last seen, flags, the start as the last
 * record's time), the same size, capacity and epoch, the same first-read hints, the same sums in the start
 * record. On the real flow map (many batches, the table rebuilt while they come in), and on a batch that holds
 * a key twice (a map read while it changes), where the later counts win on both paths.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceScanPathForTests, nativeNewFlows } from "../../ffi/scan.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { mapUpdate } from "../../ffi/libbpf.ts";
import { FLOW_VALUE, FlowBatch, percpuStride } from "../../src/kernel/index.ts";
import { Baseline } from "../../src/collector/baseline.ts";
import { PreexistingIntake } from "../../src/collector/preexisting.ts";
import { FlowTable, KEY_WORDS, ROW, R_EXPORTED_AT } from "../../src/collector/table.ts";
import type { Collector } from "../../src/collector/index.ts";
import { CPUS, fd, key, setup, useCollectorLab } from "./_lab.ts";

useCollectorLab();
afterEach(() => forceScanPathForTests(undefined));

const STRIDE = percpuStride(FLOW_VALUE.size);
const FLOWS = 3000; // batches of 256; the table starts at 1,024 slots and rebuilds while they come in

/** Flow j's per-CPU values: packets on some CPUs only, first and last seen, TCP flags, fragments, timing flags and spikes that differ by CPU. */
function value(j: number, cpus: number, now: bigint): Uint8Array {
  const v = new Uint8Array(STRIDE * cpus), d = new DataView(v.buffer);
  for (let c = 0; c < cpus; c++) {
    const o = c * STRIDE, p = (j + c) % 3 === 0 ? 0 : 1 + ((j * 7 + c) % 50);
    d.setBigUint64(o + FLOW_VALUE.lastSeenNs, now - BigInt(j * 1000 + c * 7), true);
    if (p === 0) continue;
    d.setBigUint64(o + FLOW_VALUE.packets, BigInt(p) + (j % 97 === 0 ? 2n ** 40n : 0n), true);
    d.setBigUint64(o + FLOW_VALUE.bytes, BigInt(p * 100 + (j % 13)), true);
    d.setBigUint64(o + FLOW_VALUE.firstSeenNs, now - 60_000_000_000n + BigInt(j * 10 + c), true);
    d.setUint32(o + FLOW_VALUE.tcpFlags, j % 11 === 0 ? 0x80000012 : (j + c) & 63, true);
    d.setUint32(o + FLOW_VALUE.fragments, (j + c) % 4, true);
    d.setUint32(o + FLOW_VALUE.timingFlags, (j >> 3) & 1, true);
    d.setUint32(o + FLOW_VALUE.spikes, j % 29 === 0 ? 0xffffffff : c & 1, true);
  }
  return v;
}

/** What a start left: the table (its exported-at times taken out and returned apart), the hints, the sums. */
function after(c: Collector, sums: { flows: number; packets: number; bytes: number }) {
  const inner = c as unknown as { baseline: { table: FlowTable }; order: Int32Array };
  const t = inner.baseline.table, row = t.row.slice(), exportedAt = new Set<number>();
  for (let s = 0; s < t.capacity; s++) if (t.state[s] === 1) { exportedAt.add(row[s * ROW + R_EXPORTED_AT]!); row[s * ROW + R_EXPORTED_AT] = 0; }
  return { table: { capacity: t.capacity, size: t.size, epoch: t.epoch, deleted: t.tombstoneCount, keys: t.keys.slice(), state: t.state.slice(), row }, order: inner.order.slice(0, sums.flows), sums, exportedAt: [...exportedAt] };
}

/** The native routine; absent (arm64 without it, a library that did not load), every test here is reported skipped, not passed. */
const lib = nativeNewFlows();

describe.skipIf(!lib)("the start's take-in of a reused map", () => {
  test("native and TypeScript leave the same table, hints and sums after start() on the real flow map", () => {
    const now = monotonicNs();
    for (let j = 0; j < FLOWS; j++) mapUpdate(fd(), key(j), value(j, CPUS, now));
    const runs = (["native", "typescript"] as const).map((path) => {
      forceScanPathForTests(path === "native" ? undefined : false);
      const before = monotonicNs(), { collector } = setup(), sums = collector.start(), end = monotonicNs();
      const got = after(collector, sums);
      // Every flow is recorded as of the start: one exported-at time, the start's.
      expect(got.exportedAt.length).toBe(1);
      expect(got.exportedAt[0]! >= Number(before) - 1e6 && got.exportedAt[0]! <= Number(end) + 1e6).toBe(true);
      return got;
    });
    const [native, ts] = runs as [ReturnType<typeof after>, ReturnType<typeof after>];
    expect(native.sums.flows).toBe(FLOWS);
    expect(ts.table.epoch).toBeGreaterThan(0); // the table grew while the flows came in
    expect(native.sums).toEqual(ts.sums);
    expect(native.table.size).toBe(FLOWS);
    expect(native.table).toEqual(ts.table);
    expect(native.order).toEqual(ts.order);
  });

  test("a batch holding a key twice: the later counts are its row on both paths, both counted in the sums", () => {
    const n = 600, cpus = 2, b = new FlowBatch(n, cpus), now = 5_000_000_000_000n;
    b.n = n;
    const tables = [lib, null].map((l) => {
      for (let i = 0; i < n; i++) {
        const j = i % 500; // flows 500..599 repeat flows 0..99, with other counts
        b.keys.set(key(j), i * KEY_WORDS * 4);
        b.values.set(value(i, cpus, now), i * b.valueBytes);
      }
      const base = new Baseline(), hints = new Int32Array(n + 1).fill(-1), sums = new Float64Array(2);
      base.beginCollection();
      base.holdHints(true);
      base.preexistingBatch(b, hints, 1, 7e12, sums, l);
      base.holdHints(false);
      const t = (base as unknown as { table: FlowTable }).table;
      return { size: t.size, keys: t.keys.slice(), state: t.state.slice(), row: t.row.slice(), hints, sums: [...sums] };
    });
    expect(tables[0]!.size).toBe(500);
    expect(tables[0]).toEqual(tables[1]!);
  });

  test("the native take-in grows a full table between calls, every hint taken so far following its flow", () => {
    const n = 600, b = new FlowBatch(n, 1), t = new FlowTable(16), order = new Int32Array(n + 3).fill(-1);
    b.n = n;
    for (let i = 0; i < n; i++) { b.keys.set(key(i % 500), i * KEY_WORDS * 4); b.values.set(value(i, 1, 5_000_000_000_000n), i * b.valueBytes); }
    t.trackMoves(true);
    const intake = new PreexistingIntake();
    intake.take(lib!, b, order, 3, t, 1); // no room made first: the routine stops when the table is full, and it grows
    t.trackMoves(false);
    expect(t.epoch).toBeGreaterThan(0);
    expect(t.size).toBe(500);
    expect(intake.slow).toBe(100); // flows 500..599: keys it already holds
    for (let i = 0; i < n; i++) expect(t.holds(order[3 + i]!, b.keyWords, i * KEY_WORDS)).toBe(true);
  });
});
