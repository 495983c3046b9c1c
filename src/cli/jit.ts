/**
 * The agent's JIT policy. Its JavaScript runs about once a second (the collector cycle, metrics,
 * the self-check) and its record path once per export, so at JavaScriptCore's normal tier-up
 * thresholds the concurrent JIT thread spent ~0.10 s of each 40 s, 1 M-packet bench run compiling
 * code that then ran a few hundred times. Thresholds ×8 (Bun.unsafe.setJITPolicy) leave that
 * code longer in the interpreter and baseline tiers. Measured with bench-peers at 25 k pps, a fresh
 * agent, in 6 bench runs that each had a normal-policy build beside it (softflowd in 5): JIT thread
 * 0.09-0.12 s → 0.04-0.05 s, main thread +0.01-0.02 s, process 0.62 → 0.58 s/Mpkt (lower in every
 * pair). Only `ato run` sets it: with the same scale for the whole binary (--compile-jit-policy=8)
 * `ato verify` spent 9 % more CPU on a 300 MB log (docs/runtime.md).
 */
export const AGENT_JIT_SCALE = 8;

export function useAgentJitPolicy(): void {
  Bun.unsafe.setJITPolicy(AGENT_JIT_SCALE);
}
