/**
 * A reused map at the collector's start: every flow it takes in as preexisting keeps its table slot as the hint
 * for its position in the first cycle's read, also when the table grew (rebuilt, moving slots) while they came
 * in. So the first cycle after a restart on a map of many flows takes each on the scan's fast path: nothing is
 * handed back to the take-in or the general path, and every record holds exactly the growth since the start.
 * On the real flow map, with the native scan and the TypeScript one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { forceScanPathForTests, nativeScan } from "../../ffi/scan.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { BatchScan } from "../../src/collector/scan.ts";
import { BEGAN, put, records, setup, useCollectorLab } from "./_lab.ts";

useCollectorLab();
afterEach(() => forceScanPathForTests(undefined));

const FLOWS = 3000; // the table starts at 1,024 slots: it rebuilds three times while they come in
/** Flow j on its own masked /24 (src 198.18.(j & 255).0, dst 198.19.(j >> 8).0). */
const flow = (j: number) => j * 256;

describe("the first cycle after a start on a reused map", () => {
  for (const path of ["native", "typescript"] as const) {
    test(`${path} scan: every preexisting flow that grew is read at its hinted slot (no hand-back), its record the growth since the start`, async () => {
      if (path === "native" && !nativeScan()) return; // the TypeScript path is the only one here
      forceScanPathForTests(path === "native" ? undefined : false);
      const now = monotonicNs();
      for (let j = 0; j < FLOWS; j++) put(flow(j), [5], now, BEGAN);
      const { dir, log, collector } = setup();
      expect(collector.start().flows).toBe(FLOWS);
      const grownBy = (j: number) => 1 + (j % 4);
      const later = monotonicNs();
      for (let j = 0; j < FLOWS; j++) put(flow(j), [5 + grownBy(j)], later, BEGAN);
      // What the scan hands back to the take-in (and so to the general path) in each call: counted around the real one.
      let handedBack = 0;
      const takeNew = BatchScan.prototype.takeNew;
      BatchScan.prototype.takeNew = function (this: BatchScan, ...args: Parameters<BatchScan["takeNew"]>) {
        handedBack += this.n;
        return takeNew.apply(this, args);
      };
      let c;
      try {
        c = await collector.cycle();
      } finally {
        BatchScan.prototype.takeNew = takeNew;
      }
      expect(c).toMatchObject({ flows: FLOWS, records: FLOWS, reasons: { interval: FLOWS } });
      expect(handedBack).toBe(0);
      log.close();
      const got = new Map(records(dir).map((r) => [`${r.src} ${r.dst}`, [r.packets, r.packets_total]]));
      expect(got.size).toBe(FLOWS);
      for (let j = 0; j < FLOWS; j++) expect(got.get(`198.18.${j & 255}.0/24 198.19.${j >> 8}.0/24`)).toEqual([grownBy(j), 5 + grownBy(j)]);
    });
  }
});
