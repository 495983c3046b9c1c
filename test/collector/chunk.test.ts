/**
 * A DueChunk filled from table slots: addSlots (a run of the scan's DUE hand-backs in one call)
 * gives every column addSlot gives for the same slots one by one, after what the chunk already
 * held, and the chunk's epoch says whether every slot in it still holds its flow.
 */
import { describe, expect, test } from "bun:test";
import { DueChunk } from "../../src/collector/chunk.ts";
import { FlowTable, KEY_WORDS, ROW } from "../../src/collector/table.ts";
import { nativeNewFlows } from "../../ffi/scan.ts";

function table(flows: number): { t: FlowTable; slots: Int32Array } {
  const t = new FlowTable(16);
  const slots = new Int32Array(flows);
  for (let j = 0; j < flows; j++) {
    const k = new Uint32Array(KEY_WORDS).map((_, w) => (j * 2654435761 + w * 97) >>> 0);
    slots[j] = t.upsert(k, 0);
  }
  for (let j = 0; j < flows; j++) {
    const k = new Uint32Array(KEY_WORDS).map((_, w) => (j * 2654435761 + w * 97) >>> 0);
    slots[j] = t.find(k, 0); // after the last rebuild
    for (let f = 0; f < ROW; f++) t.row[slots[j]! * ROW + f] = (j + 1) * 1000 + f * 7 + (f === 0 ? 0 : 2 ** 40); // counts past 2^32
  }
  return { t, slots };
}

const columns = (c: DueChunk) => {
  const n = c.n;
  return {
    n, epoch: c.epoch, keys: [...c.keys.subarray(0, n * 48)], slot: [...c.slot.subarray(0, n)], reason: c.reason.slice(0, n), code: [...c.reasonCode.subarray(0, n)],
    d: [...c.dPackets.subarray(0, n), ...c.dBytes.subarray(0, n), ...c.dFragments.subarray(0, n)],
    totals: [...c.packets.subarray(0, n), ...c.bytes.subarray(0, n), ...c.fragments.subarray(0, n), ...c.firstSeen.subarray(0, n), ...c.lastSeen.subarray(0, n)],
    flags: [...c.tcpFlags.subarray(0, n), ...c.timingFlags.subarray(0, n), ...c.spikes.subarray(0, n)],
  };
};

describe("DueChunk.addSlots", () => {
  test("is addSlot for each slot of the run, in order, after what the chunk held", () => {
    const { t, slots } = table(200);
    const one = new DueChunk(256), run = new DueChunk(256);
    one.addSlot(t, slots[7]!, "active");
    run.addSlot(t, slots[7]!, "active");
    for (let x = 20; x < 150; x++) one.addSlot(t, slots[x]!, "shutdown");
    run.addSlots(t, slots, 20, 150, "shutdown");
    run.addSlots(t, slots, 150, 150, "shutdown"); // an empty run adds nothing
    expect(run.n).toBe(131);
    expect(columns(run)).toEqual(columns(one));
    expect(run.epoch).toBe(t.epoch);
  });

  test("a run added after the table was rebuilt marks the chunk's slots as not all current (epoch -1)", () => {
    const { t, slots } = table(10);
    const c = new DueChunk(64);
    c.addSlots(t, slots, 0, 5, "interval");
    expect(c.epoch).toBe(t.epoch);
    for (let j = 0; j < 100; j++) t.upsert(new Uint32Array(KEY_WORDS).fill(j + 1_000_000), 0); // grows: slots move
    c.addSlots(t, slots, 5, 6, "interval");
    expect(c.epoch).toBe(-1);
  });

  test("a reused chunk's reason names follow its codes after a run is added (native copy and TypeScript loop)", () => {
    for (const native of [nativeNewFlows() ?? null, null]) {
      const t = new FlowTable(), w = new Uint32Array(KEY_WORDS), slots = new Int32Array(4);
      for (let i = 0; i < 4; i++) { w[0] = i + 1; slots[i] = t.upsert(w, 0); }
      const c = new DueChunk(8);
      c.addSlots(t, slots, 0, 4, "active", native);
      expect(c.reason.slice(0, 4)).toEqual(["active", "active", "active", "active"]); // names made, cached
      c.n = 0; // flushed, then reused: the cached names must not outlive their codes
      c.addSlots(t, slots, 0, 2, "shutdown", native);
      c.addSlot(t, slots[2]!, "shutdown");
      expect(c.reason.slice(0, 3)).toEqual(["shutdown", "shutdown", "shutdown"]);
    }
  });
});
