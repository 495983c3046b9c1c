/** The verifier's JSON-free reading of seq and kind agrees with JSON.parse, declines anything unusual, and reads exactly what the byte-by-byte version read. */
import { describe, expect, test } from "bun:test";
import { encodeRecord } from "../../src/evidence/index.ts";
import { quickHead, quickKind, quickSeq } from "../../src/verify/quick.ts";
import { bytewiseKind, bytewiseSeq } from "./_quick-bytewise.ts";
import { prng } from "./_mutations.ts";

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

describe("quickKind", () => {
  test("agrees with the byte-by-byte reading it replaced on every line, mutated or not, wherever it sits in a buffer", () => {
    const rand = prng(13);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const kinds = ["flow", "checkpoint", "segment", "cosignature", "witness_refusal", "retire", "spike_2", "x"];
    const noise = [...'",:{}0123456789aksvtz_\\ \n'].map((c) => c.charCodeAt(0)).concat([0x00, 0x80, 0xff]);
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      const seq = pick([0, 1, 9, 10, 1234567, 2 ** 53 - 1, 2 ** 53, 10 ** 16, Math.floor(rand() * 1e9)]);
      const line = encodeRecord({ v: 1, seq, ts: "2025-06-01T12:00:00.000Z", kind: pick(kinds), class: pick(["internal", "c"]), data: pick([{}, { a: 1 }, { k: '","seq":5,"ts":"' }]) });
      const b = [...new TextEncoder().encode(line)];
      for (let m = Math.floor(rand() * 3); m > 0; m--) {
        const at = Math.floor(rand() * b.length);
        const how = rand();
        if (how < 0.5) b[at] = pick(noise);
        else if (how < 0.7) b.splice(at, 1);
        else if (how < 0.85) b.splice(at, 0, pick(noise));
        else b.length = at; // cut
      }
      const pad = Math.floor(rand() * 5);
      const buf = new Uint8Array(1 + pad + b.length + Math.floor(rand() * 5)).fill(pick(noise));
      buf.set(b, 1 + pad);
      const [start, end] = [1 + pad, 1 + pad + b.length];
      const want = bytewiseKind(buf, start, end);
      expect(quickKind(buf, start, end)).toBe(want);
      if (want !== undefined) {
        expect(quickSeq).toBe(bytewiseSeq);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(5_000); // most lines are still records: both readings had work to do
  });
});
