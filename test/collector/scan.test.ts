/**
 * The collector's batch scan: the native routine (asm/flow_scan.asm) equals the TypeScript loop
 * (src/collector/scan.ts), its oracle, bit for bit, on the same table and batch: every row, every
 * hand-back, the per-protocol growth, the packet sum and the next due time. The batches mix every
 * case the scan tells apart: a flow at its hinted slot unchanged or grown, a wrong or stale hint,
 * an idle flow, an entry made anew (fewer packets, another first_seen), CPUs that never saw the
 * flow, records due by the active timeout, every interval and at shutdown, and an onRead hook.
 * Given the chunk being filled, both write the same records into it (every column, byte for byte:
 * what DueChunk.addSlot writes) and stop at the same flows: when the chunk is full, and after a due
 * flow handed back behind a slow one.
 * (How the collector uses the scan is pinned by collector.test.ts, quiet.test.ts and policy.test.ts,
 * which run through it.)
 */
import { describe, expect, test } from "bun:test";
import { FlowBatch, FLOW_VALUE, percpuStride } from "../../src/kernel/index.ts";
import { BatchScan, DUE, SLOW, type ScanParams } from "../../src/collector/scan.ts";
import { FlowTable, KEY_WORDS, ROW, R_EXPORTED_AT, R_FIRST_SEEN, R_LAST_SEEN, R_PACKETS, R_READ_BYTES, R_READ_PACKETS } from "../../src/collector/table.ts";
import { nativeScan, SCAN_SCALARS, SC_FROM } from "../../ffi/scan.ts";
import { DueChunk } from "../../src/collector/chunk.ts";
import { REASONS, type ExportReason } from "../../src/collector/policy.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const STEP = percpuStride(FLOW_VALUE.size) >> 2;
const NOW = 5_000_000_000_000; // kernel ns
const IDLE = 60e9, ACTIVE = 60e9;

function keyOf(j: number): Uint32Array {
  const w = new Uint32Array(KEY_WORDS);
  w[0] = 0x0a000001 + j; w[4] = 0x0a000002; w[8] = 3; w[9] = (j * 7919) >>> 0;
  w[11] = 4 | ((j % 3 === 0 ? 6 : j % 3 === 1 ? 17 : 1) << 8);
  return w;
}

function put64(w: Uint32Array, at: number, v: number): void {
  w[at] = v % 2 ** 32;
  w[at + 1] = Math.floor(v / 2 ** 32);
}

/** A table of `flows` flows, a batch of them in another order with every case mixed in, and the hints. */
function scenario(seed: number, flows: number, cpus: number) {
  const next = rng(seed), pick = (n: number) => Math.floor(next() * n);
  const t = new FlowTable(16);
  const slots: number[] = [];
  for (let j = 0; j < flows; j++) slots.push(t.upsert(keyOf(j), 0));
  // Inserts may have moved earlier flows: take every slot again after the last one.
  for (let j = 0; j < flows; j++) slots[j] = t.find(keyOf(j), 0);
  const b = new FlowBatch(flows, cpus);
  const order = new Int32Array(flows + 8).fill(-1);
  const pos0 = pick(8);
  for (let i = 0; i < flows; i++) {
    const j = (i * 37 + seed) % flows, s = slots[j]!, r = s * ROW;
    b.keyWords.set(keyOf(j), i * KEY_WORDS);
    const first = NOW - 1e9 * (1 + pick(50)), readPackets = 1 + pick(1000);
    const readLast = first + pick(1e9), recorded = next() < 0.3 ? readPackets : pick(readPackets);
    for (let f = 0; f < ROW; f++) t.row[r + f] = pick(1000);
    t.row[r + R_READ_PACKETS] = readPackets; t.row[r + R_READ_BYTES] = readPackets * 100;
    t.row[r + R_FIRST_SEEN] = first; t.row[r + R_LAST_SEEN] = readLast; t.row[r + R_PACKETS] = recorded;
    t.row[r + R_EXPORTED_AT] = next() < 0.1 ? NOW - ACTIVE : NOW - pick(2 * ACTIVE); // some exactly at the active timeout
    // What the kernel now holds: the same, grown, made anew, or idle; spread over the CPUs (some never saw it).
    const c = next();
    let packets = readPackets, last = readLast, firstNow = first;
    if (c < 0.25) { /* unchanged */ } else if (c < 0.75) { packets += 1 + pick(50); last = readLast + pick(1e9); }
    else if (c < 0.82) { packets = Math.max(1, readPackets - 1 - pick(5)); last = NOW - pick(1e9); }
    else if (c < 0.88) { firstNow = first + 1 + pick(1000); packets += 1; last = NOW - pick(1e9); }
    else if (c < 0.94) { last = NOW - IDLE - 1 - pick(1e9); packets += pick(3); }
    else { packets += 2 ** 40 + pick(1000); last = NOW - pick(1e9); } // large counts
    const vw = b.valueWords, at = i * (b.valueBytes >> 2);
    let left = packets, bytesLeft = packets * 100 + pick(99);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const o = at + cpu * STEP;
      const p = cpu === cpus - 1 ? left : next() < 0.4 ? 0 : Math.floor(left * next());
      const by = cpu === cpus - 1 ? bytesLeft : p === 0 ? 0 : Math.floor(bytesLeft * next());
      left -= p; bytesLeft -= by;
      if (p === 0) { put64(vw, o + (FLOW_VALUE.lastSeenNs >> 2), next() < 0.5 ? 0 : first - 5); continue; } // a stale last_seen on a CPU without packets
      put64(vw, o + (FLOW_VALUE.packets >> 2), p);
      put64(vw, o + (FLOW_VALUE.bytes >> 2), by);
      put64(vw, o + (FLOW_VALUE.firstSeenNs >> 2), cpu === cpus - 1 || next() < 0.5 ? firstNow : firstNow + pick(1e6)); // the earliest is firstNow
      put64(vw, o + (FLOW_VALUE.lastSeenNs >> 2), cpu === cpus - 1 ? last : last - pick(1e6));
      vw[o + (FLOW_VALUE.tcpFlags >> 2)] = next() < 0.1 ? 0x80000012 : pick(64);
      vw[o + (FLOW_VALUE.fragments >> 2)] = pick(4);
      vw[o + (FLOW_VALUE.timingFlags >> 2)] = pick(2);
      vw[o + (FLOW_VALUE.spikes >> 2)] = next() < 0.05 ? 0xfffffff0 : pick(2);
    }
    const h = next();
    order[pos0 + i] = h < 0.85 ? s : h < 0.9 ? -1 : h < 0.95 ? slots[(j + 1) % flows]! : 1 << 30;
  }
  b.n = flows;
  return { t, b, order, pos0 };
}

function copyTable(t: FlowTable): FlowTable {
  const c = new FlowTable(16);
  c.capacity = t.capacity; c.keys = t.keys.slice(); c.state = t.state.slice(); c.row = t.row.slice(); c.epoch = t.epoch;
  return c;
}

function bits(a: Float64Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

const lib = nativeScan();

describe.skipIf(!lib)("native flow scan against the TypeScript loop", () => {
  test("scalars that are not whole numbers (a NaN capacity, a negative or NaN CPU count) are refused before the routine runs", () => {
    const n = 4, cap = 16;
    const a = { keyWords: new Uint32Array(n * 12), valueWords: new Uint32Array(n * 22), order: new Int32Array(n).fill(5_000_000), orderAt: 0, tableKeys: new Uint32Array(cap * 12), tableState: new Uint8Array(cap), row: new Float64Array(cap * ROW), byProto: new Float64Array(512), outIndex: new Int32Array(n), outKind: new Uint8Array(n), outSlot: new Int32Array(n) };
    for (const [at, v] of [[6, -1], [6, NaN], [7, NaN], [8, NaN], [8, -16]] as const) {
      const sc = new Float64Array(SCAN_SCALARS);
      sc[6] = 1; sc[7] = 22; sc[8] = cap; sc[SC_FROM] = 0; sc[at] = v;
      expect(() => lib!.batch(a, sc, n)).toThrow(/flow scan: the arrays do not fit 4 flows/);
    }
    expect(() => lib!.batch({ ...a, orderAt: -1 }, Object.assign(new Float64Array(SCAN_SCALARS), { 6: 1, 7: 22, 8: cap }), n)).toThrow(/do not fit/);
  });

  const cases: [string, Partial<ScanParams>][] = [
    ["active timeout", {}],
    ["every interval (active 0)", { activeNs: 0 }],
    ["final collection", { final: true }],
    ["an onRead hook listens", { hooked: true }],
  ];
  for (const [name, over] of cases) {
    test(`${name}: the same rows, hand-backs and sums, over many seeds and 1 to 4 CPUs`, () => {
      let handedBack = 0, due = 0, kept = 0, grewIn = 0, growBound = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const cpus = 1 + (seed % 4);
        const { t, b, order, pos0 } = scenario(seed, 50 + seed * 13, cpus);
        const p: ScanParams = { idleBefore: NOW - IDLE, idleNs: IDLE, nowNs: NOW, activeNs: ACTIVE, final: false, hooked: false, ...over };
        const ts = new BatchScan(p, null), nat = new BatchScan(p, lib!);
        expect(ts.native).toBeUndefined();
        expect(nat.native).toBe(lib);
        ts.reset(p); nat.reset(p);
        // Sums carried in from an earlier batch of the same cycle.
        ts.packetsRead = nat.packetsRead = 1234; ts.nextDueNs = nat.nextDueNs = NOW + 3 * IDLE; ts.growDueNs = nat.growDueNs = NOW + 3 * IDLE;
        const t2 = copyTable(t), order2 = order.slice();
        ts.run(b, order, pos0, t, 7);
        nat.run(b, order2, pos0, t2, 7);
        expect(nat.n).toBe(ts.n);
        expect([...nat.index.subarray(0, nat.n)]).toEqual([...ts.index.subarray(0, ts.n)]);
        expect([...nat.kind.subarray(0, nat.n)]).toEqual([...ts.kind.subarray(0, ts.n)]);
        for (let h = 0; h < ts.n; h++) if (ts.kind[h] === DUE) expect(nat.slot[h]).toBe(ts.slot[h]!);
        expect(bits(t2.row)).toEqual(bits(t.row));
        expect(bits(nat.byProto)).toEqual(bits(ts.byProto));
        expect(nat.packetsRead).toBe(ts.packetsRead);
        expect(nat.nextDueNs).toBe(ts.nextDueNs);
        expect(nat.growDueNs).toBe(ts.growDueNs);
        if (ts.growDueNs < NOW + 3 * IDLE) growBound++;
        expect(nat.grew).toBe(ts.grew);
        handedBack += ts.n; kept += b.n - ts.n; if (ts.grew) grewIn++;
        for (let h = 0; h < ts.n; h++) if (ts.kind[h] === DUE) due++;
        expect(ts.kind.subarray(0, ts.n).every((k) => k === SLOW || k === DUE)).toBe(true);
      }
      // The scenarios reach every outcome (else the comparison above would prove little).
      expect(kept).toBeGreaterThan(0);
      if (!over.hooked) expect(grewIn).toBeGreaterThan(30); // flows grown and kept by the scan
      expect(handedBack - due).toBeGreaterThan(0);
      if (!over.hooked || over.final || over.activeNs === 0) expect(due).toBeGreaterThan(0);
      // Flows kept with no growth waiting bound the next read by their active timeout (none in every-interval mode).
      if (over.activeNs === 0) expect(growBound).toBe(0);
      else expect(growBound).toBeGreaterThan(0);
    });
  }

  const columns = (c: DueChunk) => {
    const n = c.n;
    return {
      n, epoch: c.epoch, keys: [...c.keys.subarray(0, n * 48)], slot: [...c.slot.subarray(0, n)], code: [...c.reasonCode.subarray(0, n)], reason: c.reason.slice(0, n),
      d: [c.dPackets, c.dBytes, c.dFragments, c.packets, c.bytes, c.fragments, c.firstSeen, c.lastSeen].map((a) => [...bits(a.subarray(0, n))]),
      flags: [c.tcpFlags, c.timingFlags, c.spikes].map((a) => [...a.subarray(0, n)]),
    };
  };

  for (const [name, over] of cases) {
    test(`${name}, into a chunk: the same records in it, column for column, the same stops, hand-backs, rows and sums`, () => {
      let direct = 0, stopsFull = 0, stopsBehind = 0, calls = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const cpus = 1 + (seed % 4), next = rng(seed * 101);
        const { t, b, order, pos0 } = scenario(seed, 40 + seed * 17, cpus);
        const p: ScanParams = { idleBefore: NOW - IDLE, idleNs: IDLE, nowNs: NOW, activeNs: ACTIVE, final: false, hooked: false, ...over };
        const reason: ExportReason = REASONS[seed % REASONS.length]!;
        const ts = new BatchScan(p, null), nat = new BatchScan(p, lib!);
        const t2 = copyTable(t), order2 = order.slice();
        const capacity = 8 + Math.floor(next() * 40);
        const ct = new DueChunk(capacity), cn = new DueChunk(capacity);
        // What the chunk already held (another reason, earlier slots): kept, and the epoch rule runs on.
        for (let k = Math.floor(next() * 4); k > 0; k--) { ct.addSlot(t, k, "idle"); cn.addSlot(t2, k, "idle"); }
        for (let from = 0, fromN = 0; from < b.n; calls++) {
          const limit = Math.min(capacity, ct.n + 1 + Math.floor(next() * capacity));
          const before = ct.n;
          from = ts.run(b, order, pos0, t, 7, from, { chunk: ct, limit, reason });
          fromN = nat.run(b, order2, pos0, t2, 7, fromN, { chunk: cn, limit, reason });
          expect(fromN).toBe(from);
          expect(nat.n).toBe(ts.n);
          expect([...nat.index.subarray(0, nat.n)]).toEqual([...ts.index.subarray(0, ts.n)]);
          expect([...nat.kind.subarray(0, nat.n)]).toEqual([...ts.kind.subarray(0, ts.n)]);
          for (let h = 0; h < ts.n; h++) if (ts.kind[h] === DUE) expect(nat.slot[h]).toBe(ts.slot[h]!);
          expect(columns(cn)).toEqual(columns(ct));
          direct += ct.n - before;
          // Only slow flows come back, but for a due one last, behind them: then the scan stopped after it.
          for (let h = 0; h < ts.n - 1; h++) expect(ts.kind[h]).toBe(SLOW);
          if (ts.n > 0 && ts.kind[ts.n - 1] === DUE) { stopsBehind++; expect(ts.index[ts.n - 1]).toBe(from - 1); }
          if (ct.n >= limit) { stopsFull++; expect(ts.n).toBe(0); ct.n = 0; cn.n = 0; } // written: the collector's flush
        }
        expect(bits(t2.row)).toEqual(bits(t.row));
        expect(bits(nat.byProto)).toEqual(bits(ts.byProto));
        expect([nat.packetsRead, nat.nextDueNs, nat.growDueNs, nat.grew]).toEqual([ts.packetsRead, ts.nextDueNs, ts.growDueNs, ts.grew]);
      }
      expect(calls).toBeGreaterThan(30);
      if (!over.hooked || over.final || over.activeNs === 0) {
        expect(direct).toBeGreaterThan(50);
        expect(stopsFull).toBeGreaterThan(5);
        expect(stopsBehind).toBeGreaterThan(5);
      }
    });
  }

  test("a chunk with no room below its limit is refused before the routine runs", () => {
    const t = new FlowTable(16), b = new FlowBatch(4, 2), c = new DueChunk(4);
    const p: ScanParams = { idleBefore: 0, idleNs: IDLE, nowNs: NOW, activeNs: ACTIVE, final: false, hooked: false };
    c.n = 4;
    expect(() => new BatchScan(p, lib!).run(b, new Int32Array(4), 0, t, 1, 0, { chunk: c, limit: 4, reason: "active" })).toThrow(/no room below its limit/);
    c.n = 0;
    expect(() => new BatchScan(p, lib!).run(b, new Int32Array(4), 0, t, 1, 0, { chunk: c, limit: 5, reason: "active" })).toThrow(/capacity 4/);
  });

  test("an empty batch reads nothing and changes no sum", () => {
    const t = new FlowTable(16), b = new FlowBatch(4, 2);
    const p: ScanParams = { idleBefore: 0, idleNs: IDLE, nowNs: NOW, activeNs: ACTIVE, final: false, hooked: false };
    const nat = new BatchScan(p, lib!);
    nat.run(b, new Int32Array(4), 0, t, 1);
    expect(nat.n).toBe(0);
    expect(nat.packetsRead).toBe(0);
    expect(nat.nextDueNs).toBe(Infinity);
    expect(nat.growDueNs).toBe(Infinity);
  });

  test("arrays too small for the batch are refused before the routine runs", () => {
    const t = new FlowTable(16), b = new FlowBatch(8, 2);
    b.n = 8;
    const p: ScanParams = { idleBefore: 0, idleNs: IDLE, nowNs: NOW, activeNs: ACTIVE, final: false, hooked: false };
    const nat = new BatchScan(p, lib!);
    expect(() => nat.run(b, new Int32Array(4), 0, t, 1)).toThrow(/do not fit 8 flows/);
  });
});
