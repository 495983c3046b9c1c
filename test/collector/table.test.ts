/**
 * The collector's flow table against a plain Map on the same operations: inserts, lookups,
 * removals, sweeps, growth and shrinking, with keys that differ in a single word (so probing
 * and the full-key comparison are both exercised).
 */
import { describe, expect, test } from "bun:test";
import { FlowTable, KEY_WORDS, ROW, R_GEN, R_PACKETS } from "../../src/collector/table.ts";

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

function keyOf(i: number): Uint32Array {
  const w = new Uint32Array(KEY_WORDS);
  w[0] = 0x0112c6; // the same address prefix for every key: only the last words differ
  w[7] = i % 7;
  w[11] = i;
  return w;
}

describe("FlowTable", () => {
  test("finds exactly what a Map holds through inserts, removals, sweeps, growth and shrinking", () => {
    const next = rng(42);
    const t = new FlowTable(16);
    const ref = new Map<number, { packets: number; gen: number }>();
    let gen = 1;
    for (let step = 0; step < 200_000; step++) {
      const r = next();
      const i = Math.floor(next() * 20_000);
      if (r < 0.6) {
        const s = t.upsert(keyOf(i), 0);
        t.row[s * ROW + R_PACKETS] = i * 3 + step;
        t.row[s * ROW + R_GEN] = gen;
        ref.set(i, { packets: i * 3 + step, gen });
      } else if (r < 0.9) {
        const s = t.find(keyOf(i), 0);
        if (s >= 0) t.remove(s);
        ref.delete(i);
      } else if (r < 0.9002) {
        // a sweep forgets everything not touched in the current generation
        expect(t.sweep(gen)).toBe([...ref.values()].filter((v) => v.gen !== gen).length);
        for (const [k, v] of ref) if (v.gen !== gen) ref.delete(k);
        gen++;
      }
      expect(t.size).toBe(ref.size);
    }
    for (let i = 0; i < 20_000; i++) {
      const s = t.find(keyOf(i), 0);
      const want = ref.get(i);
      if (want) expect(t.row[s * ROW + R_PACKETS]).toBe(want.packets);
      else expect(s).toBe(-1);
    }
  });

  test("a key at any word offset of a larger buffer is the same key", () => {
    const t = new FlowTable();
    const buf = new Uint32Array(KEY_WORDS * 3);
    buf.set(keyOf(5), KEY_WORDS * 2);
    const s = t.upsert(keyOf(5), 0);
    expect(t.find(buf, KEY_WORDS * 2)).toBe(s);
    expect(t.find(buf, 0)).toBe(-1);
  });

  test("a million flows cost about 320 bytes each (a 2^21-slot table of 153 bytes a slot), and sweeping them all shrinks the table", () => {
    const t = new FlowTable();
    const w = new Uint32Array(KEY_WORDS);
    for (let i = 0; i < 1_000_000; i++) {
      w[11] = i;
      w[3] = i * 2654435761;
      t.upsert(w, 0);
    }
    expect(t.size).toBe(1_000_000);
    const bytes = (t as unknown as { capacity: number }).capacity * (KEY_WORDS * 4 + 1 + ROW * 8); // key, state, row
    expect(bytes / 1_000_000).toBeLessThan(340);
    expect(t.sweep(1)).toBe(1_000_000);
    expect(t.size).toBe(0);
    expect((t as unknown as { capacity: number }).capacity).toBeLessThanOrEqual(1024);
  });
});

test("findFrom takes a slot hint when it still holds the key, and finds the key anew when a rebuild moved it", () => {
  const t = new FlowTable(16);
  const s = t.upsert(keyOf(1), 0);
  expect(t.findFrom(s, keyOf(1), 0)).toBe(s);
  expect(t.findFrom(s, keyOf(2), 0)).toBe(-1); // the hint holds another key
  for (let i = 3; i < 5000; i++) t.upsert(keyOf(i), 0); // grows: slots move
  expect(t.findFrom(s, keyOf(1), 0)).toBe(t.find(keyOf(1), 0));
  expect(t.findFrom(-1, keyOf(4999), 0)).toBe(t.find(keyOf(4999), 0));
});

test("insertAbsent inserts only a key the table lacks (and reuses a removed one's slot), else tells the slot that holds it; after reserve(n), n of them never rebuild", () => {
  const t = new FlowTable(16);
  const kept = t.upsert(keyOf(1), 0);
  t.row[kept * ROW + R_PACKETS] = 7;
  expect(t.insertAbsent(keyOf(1), 0)).toBe(~kept); // held already: nothing changed, its slot told (negated)
  expect([t.size, t.row[kept * ROW + R_PACKETS]]).toEqual([1, 7]);
  const gone = t.upsert(keyOf(2), 0);
  t.remove(gone);
  const s = t.insertAbsent(keyOf(2), 0);
  expect([s >= 0, t.find(keyOf(2), 0), t.size]).toEqual([true, s, 2]);
  const epoch = t.epoch;
  t.reserve(3000);
  expect(t.epoch).toBe(epoch + 1); // one rebuild, for all of them
  const capacity = t.capacity;
  for (let i = 3; i < 3003; i++) expect(t.insertAbsent(keyOf(i), 0)).toBe(t.find(keyOf(i), 0));
  expect([t.epoch, t.capacity, t.size]).toEqual([epoch + 1, capacity, 3002]);
  expect(t.capacity).toBe(8192); // 3,002 flows within MAX_LOAD (0.7), no more than upserting them one by one grows it to
  for (let i = 1; i < 3003; i++) expect(t.find(keyOf(i), 0)).toBeGreaterThanOrEqual(0);
});

test("while it tracks moves, remap takes slots kept before a rebuild to where the rebuild put their keys; untracked, remap refuses", () => {
  const t = new FlowTable(16); // 11 keys within its load
  t.trackMoves(true);
  const slots = new Int32Array(3000);
  let rebuilds = 0;
  for (let i = 0; i < slots.length; i++) {
    const epoch = t.epoch, s = t.upsert(keyOf(i), 0);
    if (t.epoch !== epoch) { t.remap(slots, i); rebuilds++; }
    slots[i] = s;
  }
  expect(rebuilds).toBeGreaterThan(5); // 16 slots to 8192, a doubling at a time
  for (let i = 0; i < slots.length; i++) expect(t.holds(slots[i]!, keyOf(i), 0)).toBe(true);
  t.trackMoves(false);
  t.reserve(20_000); // a rebuild nobody tracks
  expect(() => t.remap(slots, 1)).toThrow("without a tracked rebuild");
});
