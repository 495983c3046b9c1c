/**
 * `ato run` raises JavaScriptCore's tier-up thresholds (src/cli/jit.ts): the agent's code, run about
 * once a second, stays out of the optimizing JIT until it has run ~8× as often, which halved the
 * JIT thread's CPU in bench-peers. The same 500 calls that get a function DFG-compiled at the normal
 * policy leave it uncompiled under the agent's.
 */
import { expect, test } from "bun:test";
import { STOP_JIT_MAX_FLOWS, STOP_JIT_SCALE, stopJitScale } from "../../src/cli/jit.ts";

const PROBE = `${import.meta.dir}/_jit-probe.ts`;
const probe = (mode: string) => {
  const r = Bun.spawnSync(["bun", PROBE, mode], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout.toString()) as { dfgCompiles: number };
};

test("500 calls DFG-compile a function at the normal JIT policy, and not under the agent's", () => {
  expect(probe("normal").dfgCompiles).toBeGreaterThanOrEqual(1);
  expect(probe("agent").dfgCompiles).toBe(0);
});

// The stop's policy (src/cli/jit.ts): raised thresholds for the final collection of a small agent, whose code then
// runs once; a large one's runs long enough to earn its compiles, and an unknown count changes nothing.
test("the stop raises the JIT thresholds up to STOP_JIT_MAX_FLOWS known flows, and not above it or for an unknown count", () => {
  expect(stopJitScale(0)).toBe(STOP_JIT_SCALE);
  expect(stopJitScale(4098)).toBe(STOP_JIT_SCALE); // the bench's 4,096 flows and the lab's own two
  expect(stopJitScale(8192)).toBeUndefined();
  expect(stopJitScale(STOP_JIT_MAX_FLOWS)).toBe(STOP_JIT_SCALE);
  expect(stopJitScale(STOP_JIT_MAX_FLOWS + 1)).toBeUndefined();
  expect(stopJitScale(1_000_000)).toBeUndefined();
  expect(stopJitScale(undefined)).toBeUndefined();
  expect(stopJitScale(Infinity)).toBeUndefined();
  expect(stopJitScale(NaN)).toBeUndefined();
});

test("500 calls after the stop's policy for a small agent stay uncompiled; for a large or unknown one they DFG-compile", () => {
  expect(probe("stop:1000").dfgCompiles).toBe(0);
  expect(probe(`stop:${STOP_JIT_MAX_FLOWS + 1}`).dfgCompiles).toBeGreaterThanOrEqual(1);
  expect(probe("stop:unknown").dfgCompiles).toBeGreaterThanOrEqual(1);
});
