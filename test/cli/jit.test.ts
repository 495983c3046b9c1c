/**
 * `ato run` raises JavaScriptCore's tier-up thresholds (src/cli/jit.ts): the agent's code, run about
 * once a second, stays out of the optimizing JIT until it has run ~8× as often, which halved the
 * JIT thread's CPU in bench-peers. The same 500 calls that get a function DFG-compiled at the normal
 * policy leave it uncompiled under the agent's.
 */
import { expect, test } from "bun:test";

const PROBE = `${import.meta.dir}/_jit-probe.ts`;
const probe = (mode: "agent" | "normal") => {
  const r = Bun.spawnSync(["bun", PROBE, mode], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout.toString()) as { dfgCompiles: number };
};

test("500 calls DFG-compile a function at the normal JIT policy, and not under the agent's", () => {
  expect(probe("normal").dfgCompiles).toBeGreaterThanOrEqual(1);
  expect(probe("agent").dfgCompiles).toBe(0);
});
