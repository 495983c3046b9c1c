/**
 * Fuzzing `ato verify` on a real signed log (SoftHSM key, five segments, a checkpoint every
 * 8 lines): each case copies the log, applies 1–3 random mutations of bytes, lines, files
 * and file types (_mutations.ts), and runs the real dist/ato on it. Invariants:
 *   - it never exits 0 when a signed line changed;
 *   - it never hangs (each run is killed after RUN_TIMEOUT_MS);
 *   - its peak RSS (VmHWM at exit) stays under VERIFY_MEMORY_BOUND_KIB;
 *   - it never fails with an internal error (70) or a stack trace; its exit code is one of
 *     0, 1, 2, 3, 64, the JSON report agrees with it, and a usage error is one line.
 *
 * Whether the signed lines changed is read from the mutated files (_mutations.ts signedChange).
 * A cut at the log's end is a shorter log offline: it must fail only when the run is given the
 * original last checkpoint as --trusted-checkpoint (half are). A
 * third of the runs also start from segment 1's first checkpoint (--from-checkpoint).
 *
 * ATO_FUZZ_CASES (default 200) sets the number of cases; ATO_FUZZ_SEED replays a run (the
 * seed is printed), ATO_FUZZ_CASE replays one case of it. Each case has its own PRNG
 * seeded from (seed, case), so one case replays alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERIFY_MEMORY_BOUND_KIB, distVerify } from "../support/ato-verify.ts";
import { ACTIVE, SEG, readLog, signedLog, type Fixture } from "./_fixture.ts";
import { Mutator, prng, signedChange, type Applied } from "./_mutations.ts";

const CASES = Number(process.env.ATO_FUZZ_CASES ?? 200);
const SEED = Number(process.env.ATO_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ONLY = process.env.ATO_FUZZ_CASE === undefined ? undefined : Number(process.env.ATO_FUZZ_CASE);
const RUN_TIMEOUT_MS = 20_000;

let fx: Fixture;
/** The original log's signed bytes: every file in order, without the last line. */
let signed: Buffer;
/** The log's last signed note, kept away from the copies: a --trusted-checkpoint for half the cases. */
let trustedNote: string;
/** Its first signed note (in segment 1): a --from-checkpoint for a third of the cases. */
let fromNote: string;

beforeAll(async () => {
  fx = await signedLog({ records: 150, checkpointEvery: 8, rotateLines: 40 });
  const active = join(fx.base, ACTIVE);
  const last = readLog(active).at(-1)!;
  expect(JSON.parse(last).data.signature_status).toBe("ok"); // every line but this one is signed
  const files = readdirSync(fx.base).sort(); // signed_evidence.000001.log … then signed_evidence.log
  expect(files.at(-1)).toBe(ACTIVE);
  const all = Buffer.concat(files.map((f) => readFileSync(join(fx.base, f))));
  signed = all.subarray(0, all.length - Buffer.byteLength(last) - 1);
  expect(signedChange(fx.base, signed)).toBe("intact");
  trustedNote = join(fx.scratch(), "last.note");
  writeFileSync(trustedNote, JSON.parse(last).data.note);
  fromNote = join(fx.scratch(), "first.note");
  writeFileSync(fromNote, JSON.parse(readLog(join(fx.base, SEG(1))).find((l) => l.includes('"kind":"checkpoint"'))!).data.note);
});
afterAll(() => fx?.cleanup());

/** One number from two: each case's PRNG seed. */
const caseSeed = (seed: number, i: number) => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0;

interface Outcome {
  i: number;
  applied: Applied[];
  change: ReturnType<typeof signedChange>;
  code: number;
  peakKiB: number;
  problems: string[];
}

async function runCase(i: number): Promise<Outcome> {
  const d = fx.copy();
  const rand = prng(caseSeed(SEED, i));
  const m = new Mutator(d, rand);
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) m.one();
  const trusted = rand() < 0.5;
  const from = rand() < 1 / 3;
  const change = signedChange(d, signed);
  const mustFail = change === "changed" || (change === "cut" && trusted);
  const r = await distVerify([d, "--pubkey", fx.h.pubkeyPath, ...(trusted ? ["--trusted-checkpoint", trustedNote] : []), ...(from ? ["--from-checkpoint", fromNote] : [])], { timeoutMs: RUN_TIMEOUT_MS });
  const problems: string[] = [];
  if (r.hung) problems.push(`hung (killed after ${RUN_TIMEOUT_MS} ms)`);
  else {
    if (![0, 1, 2, 3, 64].includes(r.code)) problems.push(`exit ${r.code}`);
    if (/internal error|\n\s+at /.test(r.stderr)) problems.push(`internal error or stack trace: ${r.stderr.slice(0, 400)}`);
    if (mustFail && r.code === 0) problems.push(`exit 0 although the signed lines are ${change}`);
    if (r.peakKiB <= 0 || r.peakKiB >= VERIFY_MEMORY_BOUND_KIB) problems.push(`peak RSS ${r.peakKiB} KiB (bound ${VERIFY_MEMORY_BOUND_KIB})`);
    if (r.code === 64 && r.stderr.trim().split("\n").length !== 1) problems.push(`usage error of more than one line: ${r.stderr.slice(0, 400)}`);
    if ([0, 1, 2, 3].includes(r.code) && r.json?.exit_code !== r.code) problems.push(`report says exit ${r.json?.exit_code}, process exited ${r.code}`);
  }
  if (problems.length > 0) problems.push(`stdout: ${r.stdout.slice(0, 300)}`);
  if (problems.length > 0) problems.push(`--trusted-checkpoint ${trusted ? "given" : "not given"}, --from-checkpoint ${from ? "given" : "not given"}`);
  return { i, applied: m.applied, change, code: r.hung ? -1 : r.code, peakKiB: r.peakKiB, problems };
}

describe("ato verify fuzz", () => {
  test(`${ONLY === undefined ? CASES : 1} mutated signed logs (seed ${SEED})`, async () => {
    console.log(`verify fuzz: seed ${SEED}, ${ONLY === undefined ? `${CASES} cases` : `case ${ONLY}`} (replay: ATO_FUZZ_SEED=${SEED} [ATO_FUZZ_CASE=i])`);
    const outcomes: Outcome[] = [];
    for (const i of ONLY === undefined ? Array.from({ length: CASES }, (_, k) => k) : [ONLY]) outcomes.push(await runCase(i));
    const byCode = new Map<number, number>();
    const byKind = new Map<string, number>();
    const byChange = new Map<string, number>();
    for (const o of outcomes) {
      byCode.set(o.code, (byCode.get(o.code) ?? 0) + 1);
      for (const a of o.applied) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
      byChange.set(o.change, (byChange.get(o.change) ?? 0) + 1);
    }
    const mutations = [...byKind.values()].reduce((a, b) => a + b, 0);
    const peak = Math.max(...outcomes.map((o) => o.peakKiB));
    console.log(`verify fuzz: ${outcomes.length} cases, ${mutations} mutations (${[...byKind].sort().map(([k, n]) => `${k} ${n}`).join(", ")})`);
    console.log(`verify fuzz: signed lines ${[...byChange].sort().map(([k, n]) => `${k} ${n}`).join(", ")}; exit codes ${[...byCode].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}: ${n}`).join(", ")}; highest peak RSS ${peak} KiB`);
    const failed = outcomes.filter((o) => o.problems.length > 0);
    for (const o of failed) console.log(`FAILED case ${o.i} (ATO_FUZZ_SEED=${SEED} ATO_FUZZ_CASE=${o.i}): ${o.applied.map((a) => `${a.kind} ${a.what}`).join("; ")} (signed lines ${o.change})\n  ${o.problems.join("\n  ")}`);
    expect(failed.map((o) => o.i)).toEqual([]);
  }, 30 * 60_000);
});
