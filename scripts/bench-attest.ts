#!/usr/bin/env bun
/**
 * What the self-attestation's conservation check costs (root; run after bash scripts/build.sh): at 4 thousand,
 * 100 thousand and 1 million flows, in the same process and on the same map, interleaved round by round:
 *
 *   cycle (nothing new)  Collector.cycle() when no flow grew: it reads the whole map and writes nothing
 *   cycle (all grown)    Collector.cycle() when every flow grew: every flow masked and appended (signed via SoftHSM)
 *   conservation check   Conservation.check(): the counters, one more read of the whole map (batch lookups, as where
 *                        the flow-sum program does not load; the second part has the kernel walk beside it), the counters again
 *
 * Each is CPU time (user + system, process.cpuUsage) beside wall time, median of the rounds; the ratio is the
 * check's CPU over the cycle's, i.e. what the check adds to each interval (ATO_CONSERVATION_EVERY=N divides it
 * by N). The flows are written from user space, so the kernel's counters never saw them: every check finds
 * counts_added, which costs the same as finding nothing (the same reads; one more object).
 * Then the check's own read (a quiet interval) two ways, interleaved (scripts/bench-attest-sum.ts): the kernel's
 * walk of the map beside batch lookups summed in JavaScript, on the default 65,536-entry map empty and with
 * 2,048 and 4,096 flows, 4,096 flows in 4,096 entries and 1 million in 1 million, with their ratio.
 *
 *   bun scripts/bench-attest.ts [--quick] [--rounds N] [--sums] [--sum-rounds N] [--sum-gap-ms N] [--sum-beside PATH] [--json PATH]
 *
 * --quick: 4 thousand and 100 thousand flows only (the sums: 4,096 flows, and 100 thousand for the million).
 * --sums: only the second part. --sum-gap-ms N: each of its checks alone after N ms asleep (the agent runs one per
 * interval, so its caches are cold: the figure to compare with a running agent's CPU), more rounds then (21).
 * --sum-beside PATH: another build's flow_sum.o walks the same maps in the same rounds (old beside new).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { possibleCpus } from "../ffi/libbpf.ts";
import { Conservation } from "../src/attest/conservation.ts";
import { Collector } from "../src/collector/index.ts";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { FlowMapReader, ifaceName, readCounters, XdpAuditor } from "../src/kernel/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { benchArgs, median } from "./bench-lib.ts";
import { fillFlows } from "./bench-flows.ts";
import { benchSums, type SumRow } from "./bench-attest-sum.ts";

const args = benchArgs();
const SIZES = args.quick ? [4_000, 100_000] : [4_000, 100_000, 1_000_000];
const ROUNDS = args.number("rounds", 3);
const dist = `${import.meta.dir}/../dist`;

/** n distinct IPv4/TCP flows seen just now, `packets` each (scripts/bench-flows.ts). */
const fill = (fd: number, n: number, packets: bigint) => fillFlows(fd, n, { packets });

interface Cost { cpuMs: number; wallMs: number }
async function cost(fn: () => unknown): Promise<Cost> {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0 };
}
const med = (xs: Cost[], k: keyof Cost) => median(xs.map((x) => x[k]));

const token = await createToken({ keyType: "ed25519" });
const report: Record<string, unknown>[] = [];
let sums: SumRow[] = [];
try {
  for (const n of process.argv.includes("--sums") ? [] : SIZES) {
    const pinDir = `/sys/fs/bpf/ato-bench-attest-${process.pid}-${n}`;
    const auditDir = mkdtempSync("/tmp/ato-bench-attest-");
    const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: n });
    try {
      const fd = auditor.mapFd("flows");
      await fill(fd, n, 10n);
      const log = EvidenceLog.open({ auditDir, signer: openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel }), checkpointIntervalMs: 0 });
      const masker = Masker.open({});
      const reader = new FlowMapReader(fd, 1024); // as ato run reads it
      const collector = new Collector({ reader, masker, log, idleTimeoutNs: 3600n * 1_000_000_000n, activeTimeoutNs: 0n, ifaceName });
      collector.start();
      const check = Conservation.start({ reader, counters: () => readCounters(auditor.mapFd("counters")) });
      const idle: Cost[] = [], grown: Cost[] = [], checks: Cost[] = [];
      let findings = 0;
      await collector.cycle(); // the first cycle after start, out of the measurement
      for (let r = 0; r < ROUNDS; r++) {
        Bun.gc(true);
        idle.push(await cost(() => collector.cycle()));
        checks.push(await cost(() => { if (check.check()) findings++; }));
        await fill(fd, n, 10n * BigInt(r + 2)); // every flow grows
        Bun.gc(true);
        grown.push(await cost(() => collector.cycle()));
      }
      log.close();
      masker.close();
      const row = {
        flows: n, rounds: ROUNDS, load_average: loadavg()[0]!.toFixed(2),
        check_cpu_ms: med(checks, "cpuMs"), check_wall_ms: med(checks, "wallMs"),
        cycle_idle_cpu_ms: med(idle, "cpuMs"), cycle_idle_wall_ms: med(idle, "wallMs"),
        cycle_grown_cpu_ms: med(grown, "cpuMs"), cycle_grown_wall_ms: med(grown, "wallMs"),
        ratio_check_to_idle_cycle: med(checks, "cpuMs") / med(idle, "cpuMs"),
        ratio_check_to_grown_cycle: med(checks, "cpuMs") / med(grown, "cpuMs"),
        check_us_per_flow: med(checks, "cpuMs") * 1000 / n, findings,
      };
      report.push(row);
      console.log(`${n.toLocaleString().padStart(9)} flows: check ${row.check_cpu_ms.toFixed(1)} ms CPU (${row.check_wall_ms.toFixed(1)} wall, ${row.check_us_per_flow.toFixed(3)} µs/flow) | cycle nothing new ${row.cycle_idle_cpu_ms.toFixed(1)} ms CPU (${row.cycle_idle_wall_ms.toFixed(1)} wall) → ×${row.ratio_check_to_idle_cycle.toFixed(2)} | cycle all grown ${row.cycle_grown_cpu_ms.toFixed(0)} ms CPU (${row.cycle_grown_wall_ms.toFixed(0)} wall) → ×${row.ratio_check_to_grown_cycle.toFixed(3)} | load ${row.load_average}, median of ${ROUNDS}`);
    } finally {
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
      Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
      rmSync(auditDir, { recursive: true, force: true });
    }
  }
  const big = args.quick ? 100_000 : 1_000_000;
  sums = await benchSums(dist, [{ flows: 0, mapSize: 65_536 }, { flows: 2_048, mapSize: 65_536 }, { flows: 4_096, mapSize: 65_536 }, { flows: 4_096, mapSize: 4_096 }, { flows: big, mapSize: big }], args.number("sum-rounds", args.number("sum-gap-ms", 0) > 0 ? 21 : 7), args.number("sum-gap-ms", 0), args.value("sum-beside"));
  if (args.json) writeFileSync(args.json, JSON.stringify({ bench: "attest-conservation", cpus: possibleCpus(), results: report, own_read: sums }, null, 2) + "\n");
} finally {
  await token.cleanup();
}
