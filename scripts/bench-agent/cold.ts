#!/usr/bin/env bun
/**
 * The agent's shutdown export, alone (root; after bash scripts/build.sh): 4,096 flows in a real
 * flow map, a collector with the agent's defaults (60 s idle and active timeouts, batches of
 * 4,096, group commit, SoftHSM Ed25519), `--cycles` ordinary cycles in which every flow grows
 * and no record is due (as at 25 k pps before a stop), then the final cycle: 4,096 records
 * written through code that has never run in this process. Then the agent's last steps on the
 * log (checkpoint("shutdown"), close). `--rounds R` repeats the grow-then-final round in the
 * same process: round 0 is the cold one, the later rounds are the same work warm. The JIT
 * policy is the agent's (src/cli/jit.ts); run it with BUN_GC_TIMER_DISABLE=1 for the agent's GC
 * timer too (src/cli/gc-timer.ts: Bun reads it when its VM starts).
 *
 *   bun scripts/bench-agent/cold.ts [--flows 4096] [--cycles 40] [--rounds 1] [--json]
 *
 * Prints one line per round: records, wall ms, process CPU ms (every thread: the JIT's too), µs
 * per record, and the final cycle's CPU on the main thread and on the others (JIT compilers,
 * thread pool), from /proc/self/task/TID/schedstat (nanoseconds).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { Collector } from "../../src/collector/index.ts";
import { EvidenceLog } from "../../src/log/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { openSigner } from "../../src/signer/index.ts";
import { FlowMapReader, ifaceName, XdpAuditor } from "../../src/kernel/index.ts";
import { createToken } from "../../test/support/softhsm.ts";
import { mapUpdate, possibleCpus } from "../../ffi/libbpf.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { encodeKey, FLOW_VALUE, percpuStride } from "../../src/kernel/index.ts";
import { useAgentJitPolicy } from "../../src/cli/jit.ts";

useAgentJitPolicy(); // as `ato run` does before the agent's modules run

const arg = (name: string, d: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FLOWS = arg("--flows", 4096), CYCLES = arg("--cycles", 40), ROUNDS = arg("--rounds", 1);
const dist = `${import.meta.dir}/../../dist`;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
/** CPU ms so far of this process's main thread and of all its other threads. */
function threadMs(): { main: number; others: number } {
  let main = 0, others = 0;
  for (const t of readdirSync("/proc/self/task")) {
    let ns = 0;
    try { ns = Number(readFileSync(`/proc/self/task/${t}/schedstat`, "utf8").split(" ")[0]); } catch { continue; } // a thread that just ended
    if (Number(t) === process.pid) main += ns / 1e6;
    else others += ns / 1e6;
  }
  return { main, others };
}

const token = await createToken({ keyType: "ed25519" });
const pinDir = `/sys/fs/bpf/ato-bench-cold-${process.pid}`;
const auditDir = mkdtempSync("/tmp/ato-bench-cold-");
const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: FLOWS });
const out: Record<string, number>[] = [];
const keys = Array.from({ length: FLOWS }, (_, i) => encodeKey({ family: 4, proto: 6, src: new Uint8Array([198, 18, (i >> 8) & 255, i & 255, ...new Array(12).fill(0)]),
  dst: new Uint8Array([198, 19, 0, 1, ...new Array(12).fill(0)]), sport: 1024 + i, dport: 443, vlan: 0, vlanInner: 0, ifindex: 1 }));
const value = new Uint8Array(percpuStride(FLOW_VALUE.size) * possibleCpus());
const firstSeen = monotonicNs();
/** Every flow counted anew with `packets` (one start, last seen now): grown, not made anew. */
function grow(fd: number, packets: bigint): void {
  const v = new DataView(value.buffer);
  v.setBigUint64(FLOW_VALUE.packets, packets, true);
  v.setBigUint64(FLOW_VALUE.bytes, packets * 500n, true);
  v.setBigUint64(FLOW_VALUE.firstSeenNs, firstSeen, true);
  v.setBigUint64(FLOW_VALUE.lastSeenNs, monotonicNs(), true);
  for (const k of keys) mapUpdate(fd, k, value);
}
try {
  const fd = auditor.mapFd("flows");
  const signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
  const log = EvidenceLog.open({ auditDir, signer, checkpointIntervalMs: 0, groupCommit: true }); // as src/agent/agent.ts opens it
  const masker = Masker.open({});
  const reader = new FlowMapReader(fd, 4096);
  const s = 1_000_000_000n;
  const collector = new Collector({ reader, masker, log, idleTimeoutNs: 60n * s, activeTimeoutNs: 60n * s, ifaceName });
  collector.start(); // an empty map, as at the agent's start
  let packets = 10n;
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 0; c < CYCLES; c++) {
      grow(fd, (packets += 10n));
      const sum = await collector.cycle();
      if (sum.records !== 0 && r === 0) throw new Error(`cycle ${c} wrote ${sum.records} records before the final one`);
    }
    grow(fd, (packets += 10n));
    Bun.gc(true);
    const th0 = threadMs(), c0 = cpuMs(), t0 = performance.now();
    const sum = await collector.cycle({ final: true });
    const c1 = cpuMs(), t1 = performance.now(), th1 = threadMs();
    if (sum.records !== FLOWS) throw new Error(`the final cycle wrote ${sum.records} records, expected ${FLOWS}`);
    const cp = log.checkpoint("shutdown");
    const c2 = cpuMs(), t2 = performance.now();
    if (cp.status !== "ok") throw new Error(`shutdown checkpoint: ${cp.status}`);
    out.push({ round: r, records: sum.records, finalWallMs: t1 - t0, finalCpuMs: c1 - c0, usPerRecordCpu: (c1 - c0) * 1000 / FLOWS, finalMainCpuMs: th1.main - th0.main, finalOtherThreadsCpuMs: th1.others - th0.others, checkpointWallMs: t2 - t1, checkpointCpuMs: c2 - c1 });
  }
  const c3 = cpuMs(), t3 = performance.now();
  log.close();
  masker.close();
  const closeCpuMs = cpuMs() - c3, closeWallMs = performance.now() - t3;
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  if (process.argv.includes("--json")) console.log(JSON.stringify({ rounds: out, closeCpuMs, closeWallMs, load }));
  else {
    for (const o of out) console.log(`round ${o.round}${o.round === 0 ? " (cold)" : " (warm)"}: final cycle ${o.records} records ${o.finalWallMs.toFixed(1)} ms wall, ${o.finalCpuMs.toFixed(1)} ms CPU (${o.usPerRecordCpu.toFixed(2)} µs/record: main thread ${o.finalMainCpuMs.toFixed(1)}, other threads ${o.finalOtherThreadsCpuMs.toFixed(1)}); checkpoint("shutdown") ${o.checkpointWallMs.toFixed(1)} ms wall / ${o.checkpointCpuMs.toFixed(1)} CPU`);
    console.log(`close ${closeWallMs.toFixed(1)} ms wall / ${closeCpuMs.toFixed(1)} CPU; load ${load}`);
  }
} finally {
  auditor.close();
  rmSync(pinDir, { recursive: true, force: true });
  Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
  rmSync(auditDir, { recursive: true, force: true });
  await token.cleanup();
}
