/**
 * bench-attest's second part: the conservation check when it reads the map itself (a quiet interval), with the
 * kernel's walk of the map (src/kernel/flow-sum.ts) beside the batch-lookup read summed in JavaScript, on the same
 * map in the same process, interleaved round by round (which goes first alternates), many checks per round.
 * CPU time (user + system) per check, median of the rounds; ratio = batch over kernel. The flows are written from
 * user space, their values on CPU 0 (scripts/bench-flows.ts), so the kernel's per-CPU lookups of the other CPUs
 * find zeros, as they do for a flow one CPU saw.
 * With a gap (--sum-gap-ms N), each check runs alone after N ms of sleep, as in the agent (one check per interval):
 * caches and TLBs are then cold, and both ways cost 2-3x what back-to-back checks do on this VM.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { Conservation } from "../src/attest/conservation.ts";
import { FlowMapReader, FlowSum, readCounters, XdpAuditor } from "../src/kernel/index.ts";
import { median } from "./bench-lib.ts";
import { fillFlows } from "./bench-flows.ts";

export interface SumCase { flows: number; mapSize: number }
export interface SumRow { flows: number; map_entries: number; checks_per_round: number; rounds: number; gap_ms: number; kernel_cpu_ms: number; kernel_wall_ms: number; batch_cpu_ms: number; batch_wall_ms: number; ratio_batch_to_kernel: number; load_average: string }

/** Checks per round: about 0.2 s of the cheaper one at the size (the 1 M-flow walk takes ~0.4 s alone). */
const callsFor = (flows: number) => Math.max(2, Math.round(400_000 / Math.max(flows, 1000)));

/** `gapMs` > 0: one check per way and round, each after that long asleep (the agent's case: a check per interval). */
export async function benchSums(dist: string, cases: SumCase[], rounds: number, gapMs = 0): Promise<SumRow[]> {
  const rows: SumRow[] = [];
  for (const { flows, mapSize } of cases) {
    const pinDir = `/sys/fs/bpf/ato-bench-attest-sum-${process.pid}-${flows}`;
    const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: mapSize });
    let sum: FlowSum | undefined;
    try {
      const fd = auditor.mapFd("flows");
      await fillFlows(fd, flows, { packets: 10n });
      const s = FlowSum.open(fd);
      if (!(s instanceof FlowSum)) throw new Error(`the flow-sum program does not load here: ${s.refused}`);
      sum = s;
      const k = sum.sum();
      if (k.flows !== flows || k.packets !== 10n * BigInt(flows)) throw new Error(`kernel sum ${k.flows} flows ${k.packets} packets, written ${flows} × 10`);
      const reader = new FlowMapReader(fd, 1024); // as ato run reads it
      const counters = () => readCounters(auditor.mapFd("counters"));
      // the walk at every size here (the agent takes it while the map holds at most KERNEL_WALK_MAX_FLOWS)
      const ways = { kernel: Conservation.start({ reader, counters, kernelSum: sum, kernelWalkMaxFlows: Infinity }), batch: Conservation.start({ reader, counters }) };
      const calls = gapMs > 0 ? 1 : callsFor(flows);
      const cpu = { kernel: [] as number[], batch: [] as number[] }, wall = { kernel: [] as number[], batch: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        for (const way of (r % 2 ? ["batch", "kernel"] : ["kernel", "batch"]) as ("kernel" | "batch")[]) {
          if (gapMs > 0) await Bun.sleep(gapMs);
          else Bun.gc(true);
          const c0 = process.cpuUsage(), t0 = performance.now();
          for (let i = 0; i < calls; i++) ways[way].check();
          const c = process.cpuUsage(c0);
          if (ways[way].lastSum !== way) throw new Error(`the ${way} check read by ${ways[way].lastSum}`);
          cpu[way].push((c.user + c.system) / 1000 / calls);
          wall[way].push((performance.now() - t0) / calls);
        }
      }
      const row: SumRow = {
        flows, map_entries: mapSize, checks_per_round: calls, rounds, gap_ms: gapMs,
        kernel_cpu_ms: median(cpu.kernel), kernel_wall_ms: median(wall.kernel), batch_cpu_ms: median(cpu.batch), batch_wall_ms: median(wall.batch),
        ratio_batch_to_kernel: median(cpu.batch) / median(cpu.kernel), load_average: loadavg()[0]!.toFixed(2),
      };
      rows.push(row);
      console.log(`${flows.toLocaleString().padStart(9)} flows in ${mapSize.toLocaleString()} entries: check's own read, kernel walk ${row.kernel_cpu_ms.toFixed(3)} ms CPU (${row.kernel_wall_ms.toFixed(3)} wall) | batch lookups + JS sum ${row.batch_cpu_ms.toFixed(3)} ms CPU (${row.batch_wall_ms.toFixed(3)} wall) → batch/kernel ×${row.ratio_batch_to_kernel.toFixed(2)} | ${calls} checks × ${rounds} rounds${gapMs > 0 ? `, each after ${gapMs} ms asleep` : ""}, load ${row.load_average}`);
    } finally {
      sum?.close();
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
    }
  }
  return rows;
}
