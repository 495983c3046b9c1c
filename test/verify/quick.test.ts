/** The verifier's JSON-free reading of seq and kind agrees with JSON.parse, and declines anything unusual. */
import { describe, expect, test } from "bun:test";
import { encodeRecord } from "../../src/evidence/index.ts";
import { quickHead } from "../../src/verify/quick.ts";

const bytes = (s: string) => new TextEncoder().encode(`\n${s}`); // a spare byte before the line, as in the reader

describe("quickHead", () => {
  test("reads seq and kind of canonical records, whatever their data", () => {
    const datas = [{}, { a: '","kind":"x","seq":1,"ts":"2025-01-01T00:00:00.000Z","v":1}' }, { nested: { kind: "flow", seq: 5 } }, { n: 1e21, s: "ü\u2028" }];
    for (const [i, data] of datas.entries()) {
      for (const [kind, quick] of [["flow", "record"], ["checkpoint", "checkpoint"], ["segment", "segment"], ["segments", "record"], ["spike_2", "record"]]) {
        const line = encodeRecord({ v: 1, seq: i * 1234567, ts: "2025-06-01T12:00:00.000Z", kind: kind!, class: "internal", data });
        const b = bytes(line);
        expect(quickHead(b, 1, b.length)).toEqual({ seq: i * 1234567, kind: quick as "record" });
      }
    }
  });

  test("declines lines of another shape, so the full parser decides", () => {
    for (const line of ['{"class":"internal","data":{},"kind":"flow","seq":01,"ts":"2025-06-01T12:00:00.000Z","v":1}', '{"class":"internal","data":{},"kind":"flow","seq":1,"ts":"2025-06-01T12:00:00.000Z","v":2}', '{"data":{},"kind":"flow","seq":1,"ts":"2025-06-01T12:00:00.000Z","v":1}', "garbage", "", '{"class":"internal","data":{},"kind":"Flow","seq":1,"ts":"2025-06-01T12:00:00.000Z","v":1}']) {
      const b = bytes(line);
      expect(quickHead(b, 1, b.length)).toBeUndefined();
    }
  });
});
