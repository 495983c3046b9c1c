/**
 * The take-in of flows the table does not hold (asm/flow_new.asm's ato_new_batch, through BatchScan.takeNew)
 * equals its TypeScript oracle (BatchScan.takeNewTs) bit for bit, on the same table and batch: the table's
 * keys, states and rows, its size, deleted slots, capacity and epoch (it grows the same way, also mid-batch),
 * every hand-back, every `order` hint, the per-protocol growth and both due bounds. The batches mix new flows
 * (some with no packets, some idle), flows held at another slot, entries made anew, flows due from the scan,
 * keys removed before (their deleted slots are reused), over 1 to 4 CPUs, at a first read of an empty table, at
 * a final cycle and in every-interval mode. And the DUE row copy (ato_due_rows, through DueChunk.addSlots)
 * equals the TypeScript loop. Misuse is an AtoError naming what was wrong.
 */
import { describe, expect, test } from "bun:test";
import { FlowBatch, FLOW_VALUE, percpuStride } from "../../src/kernel/index.ts";
import { BatchScan, type ScanParams } from "../../src/collector/scan.ts";
import { DueChunk } from "../../src/collector/chunk.ts";
import { FlowTable, KEY_WORDS, ROW, R_EXPORTED_AT, R_FIRST_SEEN, R_LAST_SEEN, R_PACKETS, R_READ_BYTES, R_READ_PACKETS } from "../../src/collector/table.ts";
import { NEW_SCALARS, nativeNewFlows } from "../../ffi/scan.ts";
import { AtoError } from "../../src/errors.ts";

const lib = nativeNewFlows();

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const STEP = percpuStride(FLOW_VALUE.size) >> 2;
const NOW = 5_000_000_000_000, IDLE = 60e9;

function keyOf(j: number): Uint32Array {
  const w = new Uint32Array(KEY_WORDS);
  w[0] = 0x0a000001 + j; w[4] = 0x0a000002; w[8] = 3; w[9] = (j * 7919) >>> 0;
  w[11] = 4 | ((j % 3 === 0 ? 6 : j % 3 === 1 ? 17 : 1) << 8);
  return w;
}
const put64 = (w: Uint32Array, at: number, v: number) => { w[at] = v % 2 ** 32; w[at + 1] = Math.floor(v / 2 ** 32); };

/**
 * A table (`known` flows, some removed again), a batch (known flows at their slot, moved, made anew, removed
 * ones back, new ones with and without packets, idle ones) and the scan after its first loop (run).
 */
function scenario(seed: number, o: { known: number; fresh: number; cpus: number; capacity: number; final: boolean; activeNs: number }) {
  const next = rng(seed), pick = (n: number) => Math.floor(next() * n);
  const t = new FlowTable(o.capacity);
  for (let j = 0; j < o.known; j++) t.upsert(keyOf(j), 0);
  const removed = new Set<number>();
  for (let j = 0; j < o.known; j++) if (next() < 0.1) { t.remove(t.find(keyOf(j), 0)); removed.add(j); }
  for (let s = 0; s < t.capacity; s++) {
    const r = s * ROW, first = NOW - 1e9 * (1 + pick(50));
    for (let f = 0; f < ROW; f++) t.row[r + f] = pick(1000);
    t.row[r + R_READ_PACKETS] = 1 + pick(100); t.row[r + R_READ_BYTES] = t.row[r + R_READ_PACKETS]! * 100; t.row[r + R_PACKETS] = pick(2);
    t.row[r + R_FIRST_SEEN] = first; t.row[r + R_LAST_SEEN] = first + pick(1e9); t.row[r + R_EXPORTED_AT] = NOW - pick(120e9);
  }
  const all = o.known + o.fresh, b = new FlowBatch(all, o.cpus), order = new Int32Array(all + 8).fill(-1), pos0 = pick(8);
  const flows = [...Array(all).keys()];
  for (let i = all - 1; i > 0; i--) { const x = pick(i + 1); [flows[i], flows[x]] = [flows[x]!, flows[i]!]; }
  for (let i = 0; i < all; i++) {
    const j = flows[i]!;
    b.keyWords.set(keyOf(j), i * KEY_WORDS);
    const s = j < o.known && !removed.has(j) ? t.find(keyOf(j), 0) : -1;
    if (s >= 0 && next() < 0.7) order[pos0 + i] = s; // else: moved in the map's order (no hint), or a wrong one
    else if (next() < 0.3) order[pos0 + i] = pick(t.capacity);
    const c = next(), at = i * (b.valueBytes >> 2);
    const idle = c < 0.1, none = c >= 0.1 && c < 0.18, anew = s >= 0 && c > 0.9;
    const first = anew ? NOW - 1e6 : s >= 0 ? t.row[s * ROW + R_FIRST_SEEN]! : NOW - 1e9 * (1 + pick(90)) - pick(1e9);
    const last = idle ? NOW - IDLE - 1 - pick(1e9) : NOW - pick(1e9);
    let packets = s >= 0 && !anew ? t.row[s * ROW + R_READ_PACKETS]! + pick(3) : 1 + pick(1000);
    if (next() < 0.05) packets += 2 ** 40;
    for (let cpu = 0; cpu < o.cpus; cpu++) {
      const v = at + cpu * STEP, p = none ? 0 : cpu === o.cpus - 1 ? packets : next() < 0.4 ? 0 : Math.floor(packets * next());
      packets -= p;
      put64(b.valueWords, v + (FLOW_VALUE.lastSeenNs >> 2), p === 0 ? (next() < 0.5 ? 0 : last - 5) : cpu === o.cpus - 1 ? last : last - pick(1e6));
      if (p === 0) continue;
      put64(b.valueWords, v + (FLOW_VALUE.packets >> 2), p);
      put64(b.valueWords, v + (FLOW_VALUE.bytes >> 2), p * 100 + pick(99));
      put64(b.valueWords, v + (FLOW_VALUE.firstSeenNs >> 2), cpu === o.cpus - 1 ? first : first + pick(1e6));
      b.valueWords[v + (FLOW_VALUE.tcpFlags >> 2)] = next() < 0.1 ? 0x80000012 : pick(64);
      b.valueWords[v + (FLOW_VALUE.fragments >> 2)] = pick(4);
      b.valueWords[v + (FLOW_VALUE.timingFlags >> 2)] = pick(2);
      b.valueWords[v + (FLOW_VALUE.spikes >> 2)] = next() < 0.05 ? 0xffffffff : pick(3);
    }
  }
  b.n = all;
  const p: ScanParams = { idleBefore: NOW - IDLE, idleNs: IDLE, nowNs: NOW, activeNs: o.activeNs, final: o.final, hooked: false };
  const scan = new BatchScan(p, null);
  scan.reset(p);
  scan.nextDueNs = NOW + pick(1e12); // what earlier batches of the cycle left
  scan.run(b, order, pos0, t, 7);
  return { t, b, order, pos0, scan };
}

/** Everything takeNew may change. */
function state(x: ReturnType<typeof scenario>) {
  const { t, order, scan } = x, n = scan.n;
  return {
    capacity: t.capacity, epoch: t.epoch, size: t.size, tombstones: t.tombstoneCount,
    keys: Buffer.from(t.keys.buffer).toString("base64"), st: Buffer.from(t.state).toString("base64"), row: Buffer.from(t.row.buffer).toString("base64"),
    n, index: [...scan.index.subarray(0, n)], kind: [...scan.kind.subarray(0, n)],
    dueSlots: [...scan.slot.subarray(0, n)].filter((_, h) => scan.kind[h] === 1),
    order: [...order], byProto: [...scan.byProto], grew: scan.grew, nextDue: scan.nextDueNs, growDue: scan.growDueNs,
  };
}

const CASES = [
  { name: "a first read of an empty table (all new, room made for all at once)", known: 0, fresh: 900, capacity: 16, final: false, activeNs: 60e9 },
  { name: "known flows and new ones that outgrow the table mid-batch", known: 600, fresh: 400, capacity: 1024, final: false, activeNs: 60e9 },
  { name: "a final cycle, growing mid-batch", known: 700, fresh: 300, capacity: 1024, final: true, activeNs: 3600e9 },
  { name: "every interval (active 0), room to spare", known: 200, fresh: 200, capacity: 4096, final: false, activeNs: 0 },
];

describe.skipIf(!lib)("the native take-in of new flows against the TypeScript loop", () => {
  for (const c of CASES) {
    test(`${c.name}: the same table, hand-backs, hints, growth and bounds, over seeds and 1 to 4 CPUs`, () => {
      let grown = 0;
      for (let seed = 1; seed <= 24; seed++) {
        const o = { ...c, cpus: 1 + (seed % 4) };
        const ts = scenario(seed, o), nat = scenario(seed, o);
        expect(state(nat)).toEqual(state(ts)); // the same start
        const epoch = ts.t.epoch;
        ts.scan.takeNewTs(ts.b, ts.order, ts.pos0, ts.t, 7);
        nat.scan.takeNew(nat.b, nat.order, nat.pos0, nat.t, 7, lib);
        expect(state(nat)).toEqual(state(ts));
        if (ts.t.epoch !== epoch) grown++;
      }
      if (c.known > 0 && c.capacity === 1024) expect(grown).toBeGreaterThan(12); // the mid-batch growth was exercised
    });
  }

  test("misuse is an AtoError and changes nothing: a hand-back outside the batch, arrays too small, a table without room", () => {
    const x = scenario(3, { known: 10, fresh: 10, cpus: 2, capacity: 64, final: false, activeNs: 60e9 });
    const sc = new Float64Array(NEW_SCALARS);
    const a = { keyWords: x.b.keyWords, valueWords: x.b.valueWords, order: x.order, tableKeys: x.t.keys, tableState: x.t.state, row: x.t.row, byProto: x.scan.byProto, index: x.scan.index, kind: x.scan.kind, slot: x.scan.slot };
    sc[5] = 2; sc[6] = x.b.valueBytes >> 2; sc[7] = x.t.capacity; sc[12] = x.t.size; sc[13] = x.t.tombstoneCount; sc[14] = x.t.loadLimit; sc[19] = x.b.n;
    const before = Buffer.from(x.t.state).toString("hex");
    const i0 = x.scan.index[0]!;
    x.scan.index[0] = 1000; // not a flow of the batch: the routine stops there, before doing anything of it
    expect(() => lib!.newFlows(a, sc, x.scan.n)).toThrow(/hand-back 0 names a flow outside the batch of 20/);
    x.scan.index[0] = -1;
    expect(() => lib!.newFlows(a, sc, x.scan.n)).toThrow(/outside the batch/);
    x.scan.index[0] = i0;
    expect(() => lib!.newFlows({ ...a, row: x.t.row.subarray(0, 10) }, sc, x.scan.n)).toThrow(/do not fit hand-backs 0 to/);
    expect(() => lib!.newFlows(a, new Float64Array(4), 1)).toThrow(AtoError);
    sc[14] = x.t.capacity; // a load limit that lets the table fill: the probe would find no empty slot
    expect(() => lib!.newFlows(a, sc, x.scan.n)).toThrow(/do not fit/);
    expect(Buffer.from(x.t.state).toString("hex")).toBe(before);
  });

  test("a table whose counts say it has room but has no empty slot ends the probe: a deleted slot is reused, else an AtoError", () => {
    const cap = 16, sc = new Float64Array(NEW_SCALARS), vw = new Uint32Array(22);
    vw[0] = 1; vw[6] = 5; // one packet, last seen at 5 ns
    const arrays = (state: Uint8Array) => ({ keyWords: new Uint32Array(12).fill(7), valueWords: vw, order: new Int32Array(1), tableKeys: new Uint32Array(cap * 12), tableState: state, row: new Float64Array(cap * ROW), byProto: new Float64Array(512), index: new Int32Array(1), kind: new Uint8Array(1), slot: new Int32Array(1) });
    const call = (state: Uint8Array) => {
      sc.fill(0); sc[5] = 1; sc[6] = 22; sc[7] = cap; sc[14] = cap * 0.7; sc[19] = 1; // live 0, deleted 0: both wrong
      return lib!.newFlows(arrays(state), sc, 1);
    };
    const deleted = new Uint8Array(cap).fill(2);
    expect(call(deleted)).toBe(0); // it used to probe for an empty slot forever
    expect([...deleted].filter((s) => s === 1)).toHaveLength(1);
    expect(() => call(new Uint8Array(cap).fill(1))).toThrow(/had no free slot for hand-back 0 although its counts \(0 live, 0 deleted\) left room/);
    sc.fill(0); sc[5] = 1; sc[6] = 22; sc[7] = cap; sc[12] = 12; sc[13] = 5; sc[14] = cap * 0.7; sc[19] = 1;
    expect(() => lib!.newFlows(arrays(new Uint8Array(cap)), sc, 1)).toThrow(/do not fit/); // more counted than the table has
  });
});

describe.skipIf(!lib)("the native DUE row copy against the TypeScript loop", () => {
  test("DueChunk.addSlots gives the same columns either way, after what the chunk held", () => {
    const x = scenario(11, { known: 300, fresh: 0, cpus: 1, capacity: 512, final: true, activeNs: 60e9 });
    const slots = new Int32Array(x.t.capacity).map((_, s) => s).filter((s) => x.t.state[s] === 1);
    for (let s of slots) { const r = s * ROW; x.t.row[r + 9] = 0x80000012; x.t.row[r + 11] = 2 ** 32 + 5; } // flags past 2^31; a sum past 2^32 wraps as in a Uint32Array
    const ts = new DueChunk(256), nat = new DueChunk(256);
    ts.addSlot(x.t, slots[0]!, "active"); nat.addSlot(x.t, slots[0]!, "active");
    ts.addSlots(x.t, slots, 5, 200, "shutdown", null);
    nat.addSlots(x.t, slots, 5, 200, "shutdown", lib);
    nat.addSlots(x.t, slots, 200, 200, "shutdown", lib);
    const cols = (c: DueChunk) => [c.n, c.epoch, c.reason.slice(0, c.n), ...[c.keys, c.slot, c.reasonCode, c.dPackets, c.dBytes, c.dFragments, c.packets, c.bytes, c.fragments, c.firstSeen, c.lastSeen, c.tcpFlags, c.timingFlags, c.spikes].map((v) => Buffer.from(v.buffer).toString("base64"))];
    expect(nat.n).toBe(196);
    expect(cols(nat)).toEqual(cols(ts));
    expect(nat.spikes[1]).toBe(5);
  });

  test("a slot outside the table or a run past the chunk is an AtoError", () => {
    const t = new FlowTable(16), c = new DueChunk(8), slots = new Int32Array([0, 1, 99, 2]);
    expect(() => c.addSlots(t, slots, 0, 4, "shutdown", lib)).toThrow(/slot 99 is not in a table of 16 slots/);
    expect(() => c.addSlots(t, new Int32Array(20), 0, 20, "shutdown", lib)).toThrow(/do not fit slots 0 to 20/);
  });
});
