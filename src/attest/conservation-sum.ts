/**
 * How the conservation check sums the flow map when the collector did not read it: the kernel's walk
 * (src/kernel/flow-sum.ts) where it loads, else batch lookups summed by the check. Which one is said once in the
 * agent's log, with the kernel's reason when it refused the program (kernels before 5.19: Debian 11's 5.10).
 */
import { FlowSum } from "../kernel/index.ts";

export type ConservationSumWay = "kernel" | "batch";

/** The kernel walk to hand to Conservation.start (kernelSum), or undefined for batch lookups. */
export function openConservationSum(flowMapFd: number, way: ConservationSumWay, say: (m: string, fields?: Record<string, string | number | undefined>) => void): FlowSum | undefined {
  if (way === "batch") {
    say("conservation check: sums the flow map with batch lookups (ATO_CONSERVATION_SUM=batch)");
    return undefined;
  }
  const r = FlowSum.open(flowMapFd);
  if (r instanceof FlowSum) return r;
  say("conservation check: the kernel did not load its flow-sum program (needs Linux 5.19); it sums the flow map with batch lookups", { reason: r.refused });
  return undefined;
}
