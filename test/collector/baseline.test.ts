/**
 * The baseline's slot shortcuts: a slot the scan or a chunk holds is used as it is only while the
 * table has not been rebuilt since (FlowTable.epoch); after a rebuild every flow is found again by
 * its key, so a record's counts always land on its own flow. (The collector's tests run the
 * shortcut itself on the real map; here a rebuild is forced between taking a slot and using it.)
 */
import { describe, expect, test } from "bun:test";
import { Baseline } from "../../src/collector/baseline.ts";
import { DueChunk } from "../../src/collector/chunk.ts";
import { KEY_WORDS } from "../../src/collector/table.ts";
import { nativeNewFlows } from "../../ffi/scan.ts";
import type { FlowNumbers } from "../../src/kernel/index.ts";

const NOW = 7_000_000_000_000;

function keyOf(j: number): Uint32Array {
  const w = new Uint32Array(KEY_WORDS);
  w[0] = 0x0a000001 + j; w[4] = 0x0a000002; w[9] = (j * 7919) >>> 0; w[11] = 4 | (6 << 8);
  return w;
}

function counts(j: number): FlowNumbers {
  return { packets: 10 + j, bytes: 1000 + j, firstSeenNs: 1e9 + j, lastSeenNs: 2e9 + j, tcpFlags: 2, fragments: j % 3, timingFlags: 0, spikes: 0 };
}

/** A baseline holding flows 0..n-1, each read with counts(j) and no record yet. */
function filled(n: number): Baseline {
  const b = new Baseline();
  b.beginCollection();
  for (let j = 0; j < n; j++) b.observe(b.seen(keyOf(j), 0), true, counts(j), () => {});
  return b;
}

/** Inserts new flows until the table has been rebuilt (its slots moved). */
function rebuild(b: Baseline): void {
  const epoch = b.epoch;
  for (let j = 100_000; b.epoch === epoch && j < 110_000; j++) b.seen(keyOf(j), 0);
  expect(b.epoch).not.toBe(epoch);
}

const slotOf = (b: Baseline, j: number) => b.seenAt(-1, keyOf(j), 0);

describe("Baseline slots across a table rebuild", () => {
  test("a chunk filled before a rebuild moves each flow's record baseline at the flow's new slot", () => {
    const b = filled(100);
    const chunk = new DueChunk(256);
    for (let j = 0; j < 100; j++) b.due(chunk, slotOf(b, j), "interval");
    rebuild(b);
    b.recordedRange(chunk, 0, 100, NOW);
    for (let j = 0; j < 100; j++) {
      const s = slotOf(b, j);
      expect(b.pending(s)).toBe(0);
      expect(b.exportedAt(s)).toBe(NOW);
      expect(b.delta(s)).toEqual({ packets: 0, bytes: 0, fragments: 0 });
    }
    expect(b.exportedAt(slotOf(b, 100_000))).toBe(0); // a flow the chunk did not hold is left alone
  });

  test("a chunk filled across a rebuild (some slots from before, some after) records every flow at its own slot", () => {
    const b = filled(100);
    const chunk = new DueChunk(256);
    for (let j = 0; j < 50; j++) b.due(chunk, slotOf(b, j), "active");
    rebuild(b);
    for (let j = 50; j < 100; j++) b.due(chunk, slotOf(b, j), "active");
    b.recordedRange(chunk, 0, 100, NOW);
    for (let j = 0; j < 100; j++) expect(b.pending(slotOf(b, j))).toBe(0);
  });

  test("without a rebuild, records of flows gone from the map move nothing and the others' baselines take their records", () => {
    const b = filled(100);
    const chunk = new DueChunk(256);
    for (let j = 0; j < 100; j++) b.due(chunk, slotOf(b, j), j % 10 === 0 ? "idle" : "shutdown");
    b.recordedRange(chunk, 0, 100, NOW);
    for (let j = 0; j < 100; j++) expect(b.pending(slotOf(b, j))).toBe(j % 10 === 0 ? 10 + j : 0);
  });

  test("a slot the scan handed back is kept while the epoch it was taken at lasts, and found again by key after a rebuild", () => {
    const b = filled(200);
    const before = b.epoch, hints = Array.from({ length: 200 }, (_, j) => slotOf(b, j));
    for (let j = 0; j < 200; j++) expect(b.slotOf(hints[j]!, before, keyOf(j), 0)).toBe(hints[j]!);
    rebuild(b);
    let moved = 0;
    for (let j = 0; j < 200; j++) {
      const s = b.slotOf(hints[j]!, before, keyOf(j), 0);
      expect(s).toBe(slotOf(b, j));
      if (s !== hints[j]) moved++;
    }
    expect(moved).toBeGreaterThan(100); // the rebuild did move them: the test would see a stale slot
  });
});

describe("Baseline.recordedRange in one native call (asm/flow_new.asm's ato_recorded_rows)", () => {
  const lib = nativeNewFlows();
  const REASONS = ["interval", "idle", "active", "shutdown", "recreated", "evicted"] as const;
  /** A baseline of n flows grown since their read, and a chunk holding them all due (mixed reasons). */
  function grownAndDue(n: number): { b: Baseline; chunk: DueChunk } {
    const b = filled(n);
    b.beginCollection();
    for (let j = 0; j < n; j++) b.observe(b.seen(keyOf(j), 0), false, { ...counts(j), packets: 50 + 3 * j, bytes: 5000 + 7 * j, fragments: 4 + (j % 5) }, () => {});
    const chunk = new DueChunk(256);
    for (let j = 0; j < n; j++) b.due(chunk, slotOf(b, j), REASONS[j % REASONS.length]!);
    return { b, chunk };
  }
  const state = (b: Baseline, n: number) => Array.from({ length: n }, (_, j) => [b.pending(slotOf(b, j)), b.exportedAt(slotOf(b, j)), b.delta(slotOf(b, j))]);

  test.skipIf(!lib)("writes every live record's counts and time where the TypeScript loop does, for a part of a chunk too", () => {
    for (const [from, to] of [[0, 200], [13, 87], [40, 40]] as const) {
      const native = grownAndDue(200), oracle = grownAndDue(200);
      native.chunk.slot[45] = oracle.chunk.slot[45] = -1; // "shutdown", live: a slot the chunk does not hold is skipped, not the end
      native.b.recordedRange(native.chunk, from, to, NOW, lib!);
      oracle.b.recordedRange(oracle.chunk, from, to, NOW, null);
      const got = state(native.b, 200);
      expect(got).toEqual(state(oracle.b, 200));
      const live = Array.from({ length: to - from }, (_, k) => from + k).filter((j) => j !== 45 && !["idle", "recreated", "evicted"].includes(REASONS[j % 6]!));
      expect(got.filter(([p]) => p === 0).length).toBe(live.length);
    }
  });

  test.skipIf(!lib)("a slot outside the table is an INTERNAL error naming the entry, the rows before it written", () => {
    const { b, chunk } = grownAndDue(20);
    chunk.slot[6] = 1 << 30; // reason "interval": live
    expect(() => b.recordedRange(chunk, 0, 20, NOW, lib!)).toThrow(expect.objectContaining({ code: "INTERNAL", message: expect.stringContaining("entry 6") }));
    expect(b.exportedAt(slotOf(b, 0))).toBe(NOW);
    expect(b.exportedAt(slotOf(b, 8))).not.toBe(NOW);
    expect(() => lib!.recordedRows({ reasonCode: chunk.reasonCode, slot: chunk.slot, packets: chunk.packets, bytes: chunk.bytes, fragments: chunk.fragments, row: new Float64Array(13) }, 0, 257, 1, NOW))
      .toThrow(expect.objectContaining({ code: "INTERNAL" }));
    // an empty row array is a table of no slots: refused by code, not by a TypeError from the pointer conversion
    expect(() => lib!.recordedRows({ reasonCode: chunk.reasonCode, slot: chunk.slot, packets: chunk.packets, bytes: chunk.bytes, fragments: chunk.fragments, row: new Float64Array(0) }, 0, 8, 1, NOW))
      .toThrow(expect.objectContaining({ code: "INTERNAL", message: expect.stringContaining("a table of 0 slots") }));
  });
});
