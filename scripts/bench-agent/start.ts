#!/usr/bin/env bun
/**
 * The collector's start on a reused map, alone (root; after bash scripts/build.sh): `--flows` flows in a real
 * flow map (scripts/bench-flows.ts), then one Collector.start() with the agent's reader (batches of 4,096) and
 * JIT policy, in a fresh process as after a restart: the code runs cold. `--root DIR` takes the collector from
 * another tree (main's worktree: the build before a change, beside this one in the same run); `--typescript`
 * forces the TypeScript take-in (no native new-flow routine).
 *
 *   bun scripts/bench-agent/start.ts [--flows 1000000] [--root DIR] [--typescript] [--json]
 *
 * Prints the flows taken in, start()'s wall ms and process CPU ms (every thread; user and system), and the load.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { FlowMapReader, XdpAuditor } from "../../src/kernel/index.ts";
import type { EvidenceLog } from "../../src/log/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { useAgentJitPolicy } from "../../src/cli/jit.ts";
import { forceScanPathForTests } from "../../ffi/scan.ts";
import { fillFlows } from "../bench-flows.ts";

useAgentJitPolicy(); // as `ato run` does before the agent's modules run

const argAt = (name: string) => process.argv.indexOf(name);
const FLOWS = argAt("--flows") > 0 ? Number(process.argv[argAt("--flows") + 1]) : 1_000_000;
const root = argAt("--root") > 0 ? process.argv[argAt("--root") + 1]! : `${import.meta.dir}/../..`;
if (process.argv.includes("--typescript")) forceScanPathForTests(false);
const { Collector } = (await import(`${root}/src/collector/index.ts`)) as typeof import("../../src/collector/index.ts");
const cpu = () => { const u = process.cpuUsage(); return { user: u.user / 1000, sys: u.system / 1000 }; };

const pinDir = `/sys/fs/bpf/ato-bench-restart-${process.pid}`;
const auditor = XdpAuditor.load({ objectPath: `${import.meta.dir}/../../dist/xdp_audit.o`, pinDir, maxFlows: FLOWS });
try {
  const fd = auditor.mapFd("flows");
  await fillFlows(fd, FLOWS);
  // start() appends one record (the agent's start): the log's cost is not what is measured here.
  const log = { appendRecord: () => ({ seq: 0 }) } as unknown as EvidenceLog;
  const masker = Masker.open({});
  const s = 1_000_000_000n;
  const collector = new Collector({ reader: new FlowMapReader(fd, 4096), masker, log, idleTimeoutNs: 60n * s, activeTimeoutNs: 60n * s, ifaceName: () => "lo" });
  Bun.gc(true);
  const c0 = cpu(), t0 = performance.now();
  const got = collector.start();
  const wallMs = performance.now() - t0, c1 = cpu(), userMs = c1.user - c0.user, sysMs = c1.sys - c0.sys;
  if (got.flows !== FLOWS) throw new Error(`start took in ${got.flows} flows, expected ${FLOWS}`);
  masker.close();
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  const tree = argAt("--root") > 0 ? root : "this tree";
  if (process.argv.includes("--json")) console.log(JSON.stringify({ tree, flows: got.flows, wallMs, cpuMs: userMs + sysMs, userMs, sysMs, load }));
  else console.log(`${tree}${process.argv.includes("--typescript") ? " (typescript)" : ""}: start() ${got.flows} flows ${wallMs.toFixed(0)} ms wall, ${(userMs + sysMs).toFixed(0)} ms CPU (user ${userMs.toFixed(0)}, system ${sysMs.toFixed(0)}); load ${load}`);
} finally {
  auditor.close();
  rmSync(pinDir, { recursive: true, force: true });
}
