/**
 * Child of jit.test.ts: calls one small function 500 times, spread over event-loop turns as the
 * agent's code runs, and prints how many times JavaScriptCore's DFG tier compiled it. At the normal
 * policy that happens after ~200-300 calls; at the agent's (src/cli/jit.ts) after ~800-1000.
 * With stop:N (N flows, or "unknown"): the stop's policy for an agent that last knew N flows (useStopJitPolicy).
 *   bun test/cli/_jit-probe.ts agent|normal|stop:N
 */
import { numberOfDFGCompiles } from "bun:jsc";
import { useAgentJitPolicy, useStopJitPolicy } from "../../src/cli/jit.ts";

const mode = process.argv[2] ?? "";
if (mode === "agent") useAgentJitPolicy();
if (mode.startsWith("stop:")) useStopJitPolicy(mode === "stop:unknown" ? undefined : Number(mode.slice(5)));
function step(x: number): number {
  return (x * 2654435761) % 1000003;
}
let sum = 0;
for (let turn = 0; turn < 5; turn++) {
  for (let i = 0; i < 100; i++) sum += step(i + turn);
  await Bun.sleep(2);
}
// The DFG compiles on its own thread: give a queued compile up to 1 s to land.
for (let waited = 0; waited < 1000 && numberOfDFGCompiles(step) === 0; waited += 50) await Bun.sleep(50);
console.log(JSON.stringify({ dfgCompiles: numberOfDFGCompiles(step), sum }));
