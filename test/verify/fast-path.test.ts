/**
 * The first pass reads seq and kind of most lines with quickHead, without a JSON parser; the
 * oracle is parseLine (bounded JSON.parse) with canonicalProblem (canonicalize). On many random
 * records, canonical ones and subtly non-canonical ones, the fast path must never disagree with
 * the oracle: it reads every canonical record, and whatever it reads of any line is what
 * JSON.parse reads (above all, it never takes a checkpoint or segment line for a plain record).
 */
import { describe, expect, test } from "bun:test";
import { encodeRecord } from "../../src/evidence/index.ts";
import { canonicalProblem, parseLine } from "../../src/verify/bounded.ts";
import { quickHead } from "../../src/verify/quick.ts";

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const KINDS = ["flow", "checkpoint", "segment", "spike", "segments", "checkpoint_x", "cosignature", "witness_refusal", "cosignatures"];
const TRICKY = ['","kind":"checkpoint","seq":1,"ts":"2025-01-01T00:00:00.000Z","v":1}', "ü\u2028\"\\", "\u0000\u001f", "😀", "kind", "{}[],:"];

function value(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 5 : 7));
  if (pick === 0) return Math.floor(r() * 1e6) * (r() < 0.2 ? -1 : 1);
  if (pick === 1) return r() < 0.5 ? r() * 1e21 : r() / 1e7;
  if (pick === 2) return TRICKY[Math.floor(r() * TRICKY.length)];
  if (pick === 3) return r() < 0.5 ? null : r() < 0.5;
  if (pick === 4) return `198.18.${Math.floor(r() * 256)}.0/24`;
  if (pick === 5) return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, (_, i) => [["seq", "kind", "ts", "v", "a", `k${i}`][Math.floor(r() * 6)], value(r, depth + 1)]));
}

function record(r: () => number): string {
  const seq = r() < 0.1 ? Math.floor(r() * 2 ** 53) : Math.floor(r() * 1e6);
  const data = value(r, 3) as object;
  return encodeRecord({ v: 1, seq, ts: "2025-06-01T12:00:00.000Z", kind: KINDS[Math.floor(r() * KINDS.length)]!, class: "internal", data: (data && typeof data === "object" && !Array.isArray(data) ? data : { x: data }) as Record<string, unknown> });
}

/** One small change of the kind a forger or a broken writer makes; most leave valid JSON that is not canonical. */
function perturb(line: string, r: () => number): string {
  const at = Math.floor(r() * line.length);
  const edits = [
    () => `${line.slice(0, at)} ${line.slice(at)}`,
    () => line.replace(/"seq":(\d+)/, (_, d) => `"seq":${r() < 0.5 ? `0${d}` : `${d}.0`}`),
    () => line.replace(/"seq":(\d+)/, (_, d) => `"seq":${d}e0`),
    () => line.replace(/"kind":"(\w)/, (_, c) => `"kind":"\\u00${c.charCodeAt(0).toString(16)}`),
    () => line.replace(/"kind":"(\w+)"/, (_, k) => `"kind":"${k.toUpperCase()}"`),
    () => line.replace(/,"kind":"(\w+)"/, (_, k) => `,"kind":"checkpoint","kind":"${k}"`),
    () => line.replace(/,"seq":(\d+)/, (_, d) => `,"seq":${Number(d) + 1},"seq":${d}`),
    () => line.replace(/,"v":1}$/, ',"v":1 }'),
    () => line.replace(/,"v":1}$/, ',"v":1}}'),
    () => line.replace(/"ts":"([^"]+)"/, '"ts":"2025-06-01T12:00:00Z"'),
    () => line.replace(/^\{"class":"internal","data":(\{.*\}),"kind"/, (_, d) => `{"data":${d},"class":"internal","kind"`),
    () => line.slice(0, at) + line.slice(at + 1),
    () => `${line.slice(0, at)}\\${line.slice(at)}`,
    () => line.replace(/"seq":(\d+)/, '"seq":-1'),
  ];
  return edits[Math.floor(r() * edits.length)]!();
}

const KIND_OF = (k: string) => (k === "checkpoint" || k === "segment" ? k : k === "cosignature" || k === "witness_refusal" ? "witness" : "record");

describe("fast path and oracle", () => {
  test("agree on 20,000 random records, canonical and subtly non-canonical", () => {
    const seed = Number(process.env.ATO_FAST_PATH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = prng(seed);
    let canonical = 0;
    let read = 0;
    for (let i = 0; i < 20_000; i++) {
      let line = record(r);
      for (let n = Math.floor(r() * 3); n > 0; n--) line = perturb(line, r);
      const b = new TextEncoder().encode(`\n${line}`);
      const fast = quickHead(b, 1, b.length);
      const oracle = parseLine(b, 1, b.length);
      const isCanonical = oracle.rec !== undefined && canonicalProblem(oracle.rec, oracle.text) === undefined;
      const where = `seed ${seed} (ATO_FAST_PATH_SEED), case ${i}: ${line}`;
      if (isCanonical) {
        canonical++;
        expect(fast, where).toEqual({ seq: oracle.rec!.seq, kind: KIND_OF(oracle.rec!.kind) });
      }
      if (fast && oracle.rec) {
        read++;
        expect({ seq: fast.seq, kind: fast.kind }, where).toEqual({ seq: oracle.rec.seq, kind: KIND_OF(oracle.rec.kind) });
      }
    }
    // The generator must exercise both sides, or the test could not fail.
    expect(canonical).toBeGreaterThan(5_000);
    expect(20_000 - canonical).toBeGreaterThan(5_000);
    expect(read - canonical).toBeGreaterThan(100);
  });

  test("the fast path reads a seq up to 2^53 - 1 and declines one past it, as parseRecord refuses it", () => {
    const line = (seq: string) => new TextEncoder().encode(`\n{"class":"internal","data":{},"kind":"flow","seq":${seq},"ts":"2025-06-01T12:00:00.000Z","v":1}`);
    for (const [seq, want] of [["9007199254740991", 9007199254740991], ["9007199254740992", undefined], ["9007199254740993", undefined], ["99999999999999999", undefined]] as const) {
      const b = line(seq);
      expect(quickHead(b, 1, b.length)?.seq).toBe(want);
      expect(parseLine(b, 1, b.length).rec?.seq).toBe(want);
    }
  });
  test("a change to any fixed byte of the envelope's head or tail makes the fast path decline the line", () => {
    const parts = ['{"class":"', 'internal","data":{"a":1}', ',"kind":"', "flow", '","seq":', "12345", ',"ts":"', "2025-06-01T12:00:00.000Z", '","v":1}'];
    const fixed = [true, false, true, false, true, false, true, false, true];
    const line = parts.join("");
    const positions: number[] = [];
    let at = 0;
    parts.forEach((p, i) => {
      if (fixed[i]) for (let j = 0; j < p.length; j++) positions.push(at + j);
      at += p.length;
    });
    const intact = new TextEncoder().encode(`\n${line}`);
    expect(quickHead(intact, 1, intact.length)).toEqual({ seq: 12345, kind: "record" });
    const accepted: string[] = [];
    for (const pos of positions) {
      for (const c of [0x20, 0x22, 0x2c, 0x30, 0x3a, 0x5c, 0x78, 0x7d]) {
        const b = intact.slice();
        if (b[1 + pos] === c) continue;
        b[1 + pos] = c;
        if (quickHead(b, 1, b.length) !== undefined) accepted.push(new TextDecoder().decode(b.subarray(1)));
      }
    }
    expect(positions.length).toBe(10 + 9 + 8 + 7 + 8);
    expect(accepted).toEqual([]);
  });
});
