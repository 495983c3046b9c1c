/**
 * One origin's rebuilt directory keeps the hashes of only its last seqs in memory: a copy of
 * an older seq is checked against the line in the file (identical: skipped; different: a
 * conflict kept aside), before and after a restart, and a restart streams the files back
 * (cutting a half-written last line) without holding them.
 */
import { afterEach, expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OriginDir } from "../../src/collect/origin.ts";
import { removeDir, tempDir } from "../log/_helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const segment = (seq: number, n: number) => JSON.stringify({ class: "internal", data: { segment: n }, kind: "segment", seq, ts: "t", v: 1 });
const flow = (seq: number, packets = seq) => JSON.stringify({ class: "internal", data: { packets }, kind: "flow", seq, ts: "t", v: 1 });

function filled(window: number) {
  const out = tempDir("ato-origin-");
  dirs.push(out);
  const d = new OriginDir("ato/o", out, window);
  for (let seq = 0; seq < 300; seq++) expect(d.add(seq, seq === 0 ? segment(0, 1) : seq === 150 ? segment(150, 2) : flow(seq))).toBe(true);
  d.sync();
  return { out, d };
}

test("old seqs beyond the window: an identical copy is skipped, a different one is a conflict, in either segment", () => {
  const { d } = filled(10);
  expect(d.add(20, flow(20))).toBe(false);
  expect(d.add(160, flow(160))).toBe(false);
  expect(d.add(290, flow(290))).toBe(false); // still in the window
  expect(d.findings).toEqual([]);
  expect(d.add(30, flow(30, 999))).toBe(false);
  expect(d.add(200, flow(200, 999))).toBe(false);
  expect(d.findings.map((f) => [f.seq, f.kind])).toEqual([[30, "conflict"], [200, "conflict"]]);
  expect(readFileSync(join(d.dir, "collect.conflict.ndjson"), "utf8")).toContain('\\"packets\\":999');
  d.close();
});

test("after a restart (a half-written line cut), the same judgement from the files", () => {
  const { out, d } = filled(10);
  d.close();
  appendFileSync(join(d.dir, "signed_evidence.log"), '{"class":"internal","da');
  const again = new OriginDir("ato/o", out, 10);
  expect(again.next).toBe(300);
  expect(readFileSync(join(again.dir, "signed_evidence.log"), "utf8").endsWith("\n")).toBe(true);
  expect(again.add(5, flow(5))).toBe(false);
  expect(again.add(170, flow(170, 1))).toBe(false);
  expect(again.add(300, flow(300))).toBe(true);
  expect(again.findings.map((f) => [f.seq, f.kind])).toEqual([[170, "conflict"]]);
  again.close();
});

test("a seq in a gap that arrives late is kept aside as late, not searched for in vain", () => {
  const out = tempDir("ato-origin-");
  dirs.push(out);
  const d = new OriginDir("ato/o", out, 5);
  d.add(0, segment(0, 1));
  for (let seq = 1; seq < 50; seq++) if (seq !== 7) d.add(seq, flow(seq));
  expect(d.gaps).toEqual([[7, 7]]);
  expect(d.add(7, flow(7))).toBe(true);
  expect(d.findings.map((f) => [f.seq, f.kind])).toEqual([[7, "late"]]);
  d.close();
});
