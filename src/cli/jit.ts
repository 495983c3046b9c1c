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

/**
 * At the stop, JavaScriptCore's concurrent JIT compiles the final collection's code (the shutdown
 * records' path), which then runs once. With the thresholds ×100 from the signal on, that code stays
 * in the interpreter and baseline tiers. Measured on the real `ato run` (lab veth, 25 k pps, 3 s
 * windows, alternating, 2 vCPUs): the final collection's process CPU at 4,096 flows was 23.1–38.0 ms
 * against 24.7–58.3 without (lower in 5 of 6 pairs; threads other than main 0.9–4.5 ms against
 * 4.2–17.2). At 8,192 flows it was 78.8 and 87.4 ms against 82.7 and 64.2, at 16,384 160.5 and 101.4
 * against 125.9 and 145.6 (no clear gain), and at 32,768 it lost (290–317 ms against 255–279): the
 * interpreter then costs more than the compiles it saves. So only up to STOP_JIT_MAX_FLOWS flows, the
 * count the agent last knew (`Agent.knownFlows`); an unknown count leaves the policy as it is. The limit
 * is 4,096 with room for a few flows more: the bench's 4,096 measured flows were 4,098 in the map (the
 * lab's own packets), and 8,192, where it no longer clearly wins, stays above it. The count is as old as
 * the agent's last read (up to one interval: a burst of new flows just before the signal can make the final
 * collection larger than the limit, a cost in speed only); with the conservation check off it is the
 * collector's last whole read.
 */
export const STOP_JIT_SCALE = 100;
export const STOP_JIT_MAX_FLOWS = 6144;

/** The JIT scale for the stop of an agent that last knew `flows` flows, or undefined to leave the policy as is. */
export function stopJitScale(flows: number | undefined): number | undefined {
  if (flows === undefined || !Number.isFinite(flows) || flows < 0) return undefined;
  return flows <= STOP_JIT_MAX_FLOWS ? STOP_JIT_SCALE : undefined;
}

/** Sets the stop's JIT policy (stopJitScale); returns the scale set, or undefined when it left the policy as is. */
export function useStopJitPolicy(flows: number | undefined): number | undefined {
  const scale = stopJitScale(flows);
  if (scale !== undefined) Bun.unsafe.setJITPolicy(scale);
  return scale;
}
