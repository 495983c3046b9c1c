/**
 * bench-attest's second part: the conservation check when it reads the map itself (a quiet interval), with the
 * kernel's walk of the map (src/kernel/flow-sum.ts) beside the batch-lookup read summed in JavaScript, on the same
 * map in the same process, interleaved round by round (which goes first alternates), many checks per round.
 * CPU time (user + system) per check, median of the rounds; ratio = batch over kernel. The flows are written from
 * user space, their values on CPU 0 (scripts/bench-flows.ts), so the kernel's per-CPU lookups of the other CPUs
 * find zeros, as they do for a flow one CPU saw.
 * With a gap (--sum-gap-ms N), each check runs alone after N ms of sleep, as in the agent (one check per interval):
 * caches and TLBs are then cold, and both ways cost 2-3x what back-to-back checks do on this VM.
 * With another build of the program beside (--sum-beside PATH, e.g. main's flow_sum.o), its walk is a third way
 * in the same rounds, on the same map: ratio_beside_to_kernel is its CPU over this build's.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { Conservation } from "../src/attest/conservation.ts";
import { FlowMapReader, FlowSum, readCounters, XdpAuditor } from "../src/kernel/index.ts";
import { median } from "./bench-lib.ts";
import { fillFlows } from "./bench-flows.ts";

export interface SumCase { flows: number; mapSize: number }
export interface SumRow { flows: number; map_entries: number; checks_per_round: number; rounds: number; gap_ms: number; kernel_cpu_ms: number; kernel_wall_ms: number; batch_cpu_ms: number; batch_wall_ms: number; ratio_batch_to_kernel: number; beside_cpu_ms?: number; ratio_beside_to_kernel?: number; load_average: string }

/** Checks per round: about 0.2 s of the cheaper one at the size (the 1 M-flow walk takes ~0.4 s alone). */
const callsFor = (flows: number) => Math.max(2, Math.round(400_000 / Math.max(flows, 1000)));

type Way = "kernel" | "batch" | "beside";

/**
 * `gapMs` > 0: one check per way and round, each after that long asleep (the agent's case: a check per interval).
 * `besideObject`: another flow_sum.o whose walk runs beside this build's.
 */
export async function benchSums(dist: string, cases: SumCase[], rounds: number, gapMs = 0, besideObject?: string): Promise<SumRow[]> {
  const rows: SumRow[] = [];
  for (const { flows, mapSize } of cases) {
    const pinDir = `/sys/fs/bpf/ato-bench-attest-sum-${process.pid}-${flows}`;
    const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: mapSize });
    let sum: FlowSum | undefined, beside: FlowSum | undefined;
    try {
      const fd = auditor.mapFd("flows");
      await fillFlows(fd, flows, { packets: 10n });
      const s = FlowSum.open(fd);
      if (!(s instanceof FlowSum)) throw new Error(`the flow-sum program does not load here: ${s.refused}`);
      sum = s;
      if (besideObject) {
        const b = FlowSum.open(fd, besideObject);
        if (!(b instanceof FlowSum)) throw new Error(`${besideObject} does not load here: ${b.refused}`);
        beside = b;
      }
      const k = sum.sum();
      if (k.flows !== flows || k.packets !== 10n * BigInt(flows)) throw new Error(`kernel sum ${k.flows} flows ${k.packets} packets, written ${flows} × 10`);
      const reader = new FlowMapReader(fd, 1024); // as ato run reads it
      const counters = () => readCounters(auditor.mapFd("counters"));
      // the walk at every size here (the agent takes it while the map holds at least 1 flow in KERNEL_WALK_BUCKETS_PER_FLOW
      // buckets and at most KERNEL_WALK_MAX_FLOWS)
      const walking = { kernelWalkMaxFlows: Infinity, kernelWalkMinFlows: 0 };
      const ways: Partial<Record<Way, Conservation>> = { kernel: Conservation.start({ reader, counters, kernelSum: sum, ...walking }), batch: Conservation.start({ reader, counters }) };
      if (beside) ways.beside = Conservation.start({ reader, counters, kernelSum: beside, ...walking });
      const order = Object.keys(ways) as Way[];
      const calls = gapMs > 0 ? 1 : callsFor(flows);
      const cpu: Record<Way, number[]> = { kernel: [], batch: [], beside: [] }, wall: Record<Way, number[]> = { kernel: [], batch: [], beside: [] };
      for (let r = 0; r < rounds; r++) {
        for (const way of r % 2 ? [...order].reverse() : order) {
          const check = ways[way]!;
          if (gapMs > 0) await Bun.sleep(gapMs);
          else Bun.gc(true);
          const c0 = process.cpuUsage(), t0 = performance.now();
          for (let i = 0; i < calls; i++) check.check();
          const c = process.cpuUsage(c0);
          if (check.lastSum !== (way === "beside" ? "kernel" : way)) throw new Error(`the ${way} check read by ${check.lastSum}`);
          cpu[way].push((c.user + c.system) / 1000 / calls);
          wall[way].push((performance.now() - t0) / calls);
        }
      }
      const row: SumRow = {
        flows, map_entries: mapSize, checks_per_round: calls, rounds, gap_ms: gapMs,
        kernel_cpu_ms: median(cpu.kernel), kernel_wall_ms: median(wall.kernel), batch_cpu_ms: median(cpu.batch), batch_wall_ms: median(wall.batch),
        ratio_batch_to_kernel: median(cpu.batch) / median(cpu.kernel), load_average: loadavg()[0]!.toFixed(2),
      };
      if (beside) Object.assign(row, { beside_cpu_ms: median(cpu.beside), ratio_beside_to_kernel: median(cpu.beside) / median(cpu.kernel) });
      rows.push(row);
      console.log(`${flows.toLocaleString().padStart(9)} flows in ${mapSize.toLocaleString()} entries: check's own read, kernel walk ${row.kernel_cpu_ms.toFixed(3)} ms CPU (${row.kernel_wall_ms.toFixed(3)} wall) | batch lookups + JS sum ${row.batch_cpu_ms.toFixed(3)} ms CPU (${row.batch_wall_ms.toFixed(3)} wall) → batch/kernel ×${row.ratio_batch_to_kernel.toFixed(2)}${row.beside_cpu_ms === undefined ? "" : ` | beside ${row.beside_cpu_ms.toFixed(3)} ms CPU → beside/kernel ×${row.ratio_beside_to_kernel!.toFixed(2)}`} | ${calls} checks × ${rounds} rounds${gapMs > 0 ? `, each after ${gapMs} ms asleep` : ""}, load ${row.load_average}`);
    } finally {
      sum?.close();
      beside?.close();
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
    }
  }
  return rows;
}
