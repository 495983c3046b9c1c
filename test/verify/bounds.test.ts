/**
 * Bounded memory, whatever the input: lines built to be expensive (very long, deeply
 * nested, huge arrays and objects) in every position a line can take (a record, a record's
 * data with its envelope intact, a checkpoint, a segment line, the unsigned tail), checked by
 * the real dist/ato. Each is found (exit 1, never 70, never a hang), and the process's peak
 * RSS (VmHWM at its exit) is reported and stays under MEMORY_BOUND_KIB.
 *
 * The bound: Bun's own baseline for `ato verify` is about 53 MiB; the limits of
 * src/evidence/FORMAT.md (a line of at most 1 MiB, nesting 32, 65,536 values, checked before
 * JSON.parse) keep the rest to a few MiB. Before those limits a 50 MiB line took 216 MiB and a
 * line of 500,000 nested arrays 100 MiB.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { VERIFY_MEMORY_BOUND_KIB as MEMORY_BOUND_KIB, distVerify } from "../support/ato-verify.ts";
import { ACTIVE, SEG, checkpointLines, readLog, signedLog, writeLog, type Fixture } from "./_fixture.ts";

let fx: Fixture;
const peaks: string[] = [];

beforeAll(async () => {
  fx = await signedLog();
});
afterAll(() => {
  console.log(`peak RSS of dist/ato verify (VmHWM, KiB) on hostile lines, bound ${MEMORY_BOUND_KIB}:\n  ${peaks.join("\n  ")}`);
  fx?.cleanup();
});

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const bigArray = (n: number) => `[${"0,".repeat(n)}0]`;

/** Edits one file of a copy, verifies it with dist/ato, and pins: found, bounded, no hang. */
async function hostile(name: string, file: string, edit: (lines: string[]) => string[], firstLine?: number) {
  const d = fx.copy();
  writeLog(join(d, file), edit(readLog(join(d, file))));
  const r = await distVerify([d, "--pubkey", fx.h.pubkeyPath], { timeoutMs: 60_000 });
  peaks.push(`${String(r.peakKiB).padStart(7)}  ${name}`);
  expect(r.hung).toBe(false);
  expect(r.stderr).not.toContain("internal error");
  expect(r.code).toBe(1);
  expect(r.peakKiB).toBeGreaterThan(0);
  expect(r.peakKiB).toBeLessThan(MEMORY_BOUND_KIB);
  if (firstLine !== undefined) expect(r.json.findings.find((f: any) => f.severity === "tampered").line).toBe(firstLine);
  return r;
}

describe("ato verify: memory stays bounded on hostile lines", () => {
  test("a 50 MiB line: refused while streaming, past the 1 MiB limit", async () => {
    const r = await hostile("50 MiB line in a rotated segment", SEG(2), (l) => [...l.slice(0, 5), "x".repeat(50 << 20), ...l.slice(5)]);
    expect(r.json.findings.some((f: any) => f.message.includes("longer than 1048576 bytes"))).toBe(true);
  }, 90_000);

  test("a line just under the limit that is not JSON", async () => {
    await hostile("1 MiB non-JSON line", SEG(2), (l) => [...l.slice(0, 5), "{".padEnd((1 << 20) - 1, "a"), ...l.slice(5)], 6);
  }, 90_000);

  test("500,000 nested arrays on a line of their own", async () => {
    const r = await hostile("500k nested arrays", SEG(2), (l) => [...l.slice(0, 5), deep(500_000), ...l.slice(5)], 6);
    expect(r.json.findings[0].message).toContain("nests deeper than 32 levels");
  }, 90_000);

  test("nesting inside a record's data, its envelope intact, in the signed part and in the unsigned tail", async () => {
    const inData = (l: string) => l.replace('"data":{', `"data":{"x":${deep(400_000)},`);
    await hostile("400k nested arrays in a signed record's data", SEG(2), (l) => ((l[5] = inData(l[5]!)), l));
    const r = await hostile("400k nested arrays in the unsigned tail", ACTIVE, (l) => [...l, inData(l.at(-1)!.replace(/"seq":\d+/, `"seq":${JSON.parse(l.at(-1)!).seq + 1}`).replace('"kind":"checkpoint"', '"kind":"flow"'))]);
    expect(r.json.findings.some((f: any) => f.message.includes("after the last signed checkpoint") && f.message.includes("nests deeper"))).toBe(true);
  }, 90_000);

  test("500,000 values in a checkpoint's frontier", async () => {
    const cp = checkpointLines(join(fx.base, SEG(2)))[1]!;
    await hostile("500k-element frontier in a checkpoint", SEG(2), (l) => ((l[cp - 1] = l[cp - 1]!.replace('"frontier":[', `"frontier":[${"0,".repeat(500_000)}`)), l), cp);
  }, 90_000);

  test("a segment line nested 400,000 deep", async () => {
    await hostile("400k nested arrays in a segment line", SEG(3), (l) => ((l[0] = l[0]!.replace('"data":{', `"data":{"x":${deep(400_000)},`)), l), 1);
  }, 90_000);

  test("an array of 500,000 numbers and an object of 60,000 members", async () => {
    await hostile("500k-element array", SEG(2), (l) => [...l.slice(0, 5), bigArray(500_000), ...l.slice(5)], 6);
    const members = `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`;
    await hostile("60k-member object (under the value limit: parsed)", SEG(2), (l) => [...l.slice(0, 5), members, ...l.slice(5)], 6);
  }, 90_000);

  test("200,000 lines that each need a full parse", async () => {
    await hostile("200k nested lines appended", ACTIVE, (l) => [...l, ...Array.from({ length: 200_000 }, () => deep(31))]);
  }, 120_000);
});
