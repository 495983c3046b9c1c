#!/usr/bin/env bun
/**
 * The agent's footprint and the collector's cost (root; run after bash scripts/build.sh).
 * Two sections of the shared shape (scripts/bench-lib.ts):
 *
 *  map-reading — 1 million flows read from the per-CPU map (counts summed over CPUs, as the
 *    collector reads them): batch lookups beside key-by-key, same map, alternating, median of 3.
 *  agent — a collector cycle at 10 thousand, 100 thousand and 1 million flows, every flow grown
 *    (masked, appended, checkpoints signed through SoftHSM) and with nothing new, as µs per flow
 *    (flat across sizes = linear); `dist/ato run` on a lab veth: start to attached, peak memory
 *    (VmHWM) with each number of active flows, /metrics p50/p99 under wrk.
 *
 *   bun scripts/bench-agent.ts [--quick] [--json PATH] [--collector-only | --agent-only] [--sizes 100000,1000000] [--floor-stages]
 *
 * --floor-stages: after each size, what the floor is made of: the floor stopped after each of
 * its stages (read, table lookup, record bytes, leaf hash + frontier, write, checkpoints), 3
 * rounds alternating their order, CPU and wall µs per flow, each stage's added cost.
 *
 * Beside each grown cycle, the floor: the same work written tightly (scripts/bench-agent/tight.ts)
 * on the same map, same signer, rounds alternating which goes first; wall and CPU time of each.
 *
 * --quick: 100 thousand flows at most, 3 starts, wrk for 2 s.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg as osLoad } from "node:os";
import { closeFd, objGet, possibleCpus } from "../ffi/libbpf.ts";
import { monotonicNs } from "../ffi/libc.ts";
import { Collector } from "../src/collector/index.ts";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { FlowMapReader, ifaceName, XdpAuditor } from "../src/kernel/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { benchArgs, couldNotRun, measurement, median, result, section, writeBenchFile, type SectionReport } from "./bench-lib.ts";
import { createLab } from "./lab.ts";
import { FLOOR_STAGES, TightCycle } from "./bench-agent/tight.ts";
import { fillFlows } from "./bench-flows.ts";

const args = benchArgs();
const BIG = args.quick ? 100_000 : 1_000_000;
const sizesArg = process.argv.indexOf("--sizes");
const SIZES = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(",").map(Number) : args.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const STARTS = args.quick ? 3 : 5;
const WRK_SECONDS = args.quick ? 2 : 5;
const dist = `${import.meta.dir}/../dist`;
const cleanups: (() => unknown)[] = [];
const TITLES = { "map-reading": "Map reading: batch lookups beside key-by-key", agent: "Agent footprint" } as const;

/**
 * The bench's flows (scripts/bench-flows.ts): 5,000 bytes each, so a grown cycle changes packets only. Every fill
 * keeps one first_seen, so a refill grows the same entries as traffic does: with a new first_seen each round the
 * collector would take every flow for an entry the kernel made anew (its general path, `recreated`), not a grown one.
 */
const FIRST_SEEN = monotonicNs();
const fill = (fd: number, n: number, ifindex = 1, packets = 10n) => fillFlows(fd, n, { ifindex, packets, bytes: 5000n, firstSeenNs: FIRST_SEEN });

/** Reads every flow the way the collector does (counts summed over CPUs, nothing decoded). */
function countFlows(reader: FlowMapReader, method: "batch" | "keys"): number {
  let n = 0, packets = 0;
  for (const b of reader.batches(method)) for (let i = 0; i < b.n; i++, n++) packets += b.packets(i);
  if (packets <= 0) throw new Error("no packets read");
  return n;
}

async function mapReading(): Promise<SectionReport> {
  const s = section("map-reading", TITLES["map-reading"], args.command, args.quick);
  const pinDir = `/sys/fs/bpf/ato-bench-agent-${process.pid}`;
  const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: BIG });
  try {
    const fd = auditor.mapFd("flows");
    await fill(fd, BIG);
    const reader = new FlowMapReader(fd);
    const batch: number[] = [], keys: number[] = [];
    for (let r = 0; r < 3; r++) {
      let t = performance.now(); const a = countFlows(reader, "batch"); batch.push(performance.now() - t);
      t = performance.now(); const b = countFlows(reader, "keys"); keys.push(performance.now() - t);
      if (a !== BIG || b !== BIG) throw new Error(`read ${a} / ${b} flows, expected ${BIG}`);
    }
    console.log(`read ${BIG.toLocaleString()} flows: batch ${median(batch).toFixed(0)} ms, key-by-key ${median(keys).toFixed(0)} ms → batch is ${(median(keys) / median(batch)).toFixed(1)}× faster`);
    s.results.push(result({
      id: `read/${BIG}`,
      title: `read ${BIG.toLocaleString()} flows (per-CPU sums)`,
      better: "lower",
      command: "FlowMapReader.batches('batch' | 'keys') on a BPF_MAP_TYPE_PERCPU_HASH",
      inputs: { flows: BIG, cpus: possibleCpus(), batch_size: 4096, order: "alternating" },
      measurements: [measurement("batch lookups", "ms", batch), measurement("key by key", "ms", keys)],
    }));
    return s.finish();
  } finally {
    auditor.close();
    rmSync(pinDir, { recursive: true, force: true });
  }
}

/**
 * One collector cycle at each size, on a fresh map: every flow grown (n records masked, signed
 * into the log through SoftHSM), then cycles with nothing new. The per-flow cost across sizes
 * shows whether the cycle stays linear.
 */
async function collectorCycles(s: ReturnType<typeof section>): Promise<void> {
  const token = await createToken({ keyType: "ed25519" });
  cleanups.push(() => token.cleanup());
  const grownUs: Record<number, number[]> = {}, tightUs: Record<number, number[]> = {}, stillUs: Record<number, number[]> = {};
  const cpuUs: Record<number, number[]> = {}, tightCpuUs: Record<number, number[]> = {};
  const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  for (const n of SIZES) {
    const pinDir = `/sys/fs/bpf/ato-bench-cycle-${process.pid}-${n}`;
    const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: n });
    const auditDir = mkdtempSync("/tmp/ato-bench-agent-audit-");
    const tightDir = mkdtempSync("/tmp/ato-bench-agent-tight-");
    try {
      const fd = auditor.mapFd("flows");
      await fill(fd, n);
      const signer = () => openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
      const log = EvidenceLog.open({ auditDir, signer: signer(), checkpointIntervalMs: 0, groupCommit: true }); // as src/agent/agent.ts opens it
      const masker = Masker.open({});
      const reader = new FlowMapReader(fd);
      const collector = new Collector({ reader, masker, log, idleTimeoutNs: 3600n * 1_000_000_000n, activeTimeoutNs: 0n, ifaceName }); // every interval: each grown flow is a record
      collector.start();
      const tightSigner = signer();
      const tight = new TightCycle(reader, `${tightDir}/tight.log`, tightSigner);
      tight.start();
      const bare = new TightCycle(reader, `${tightDir}/bare.log`, tightSigner, "write"); // the floor less its checkpoints
      bare.start();
      const bareUs: number[] = [];
      const rounds = n >= 1_000_000 ? 2 : 3;
      grownUs[n] = []; tightUs[n] = []; cpuUs[n] = []; tightCpuUs[n] = [];
      let rssGrown = 0;
      for (let r = 0; r < rounds; r++) {
        await fill(fd, n, 1, BigInt(20 + 10 * r)); // the same keys again, counted anew: every flow has grown
        Bun.gc(true);
        const runCollector = async () => {
          const rss0 = process.memoryUsage().rss, c0 = cpuNow();
          const grown = await collector.cycle();
          cpuUs[n]!.push((cpuNow() - c0) / n * 1e6);
          rssGrown = Math.max(rssGrown, process.memoryUsage().rss - rss0);
          if (grown.records !== n || grown.reasons.interval !== n) throw new Error(`cycle wrote ${grown.records} records (${JSON.stringify(grown.reasons)}), expected ${n} of reason interval`);
          grownUs[n]!.push(grown.seconds / n * 1e6);
        };
        const runTight = () => {
          const t = performance.now(), c0 = cpuNow();
          const records = tight.cycle();
          tightUs[n]!.push((performance.now() - t) * 1e3 / n);
          tightCpuUs[n]!.push((cpuNow() - c0) / n * 1e6);
          if (records !== n) throw new Error(`tight cycle wrote ${records} records, expected ${n}`);
        };
        if (r % 2 === 0) { await runCollector(); Bun.gc(true); runTight(); } else { runTight(); Bun.gc(true); await runCollector(); }
        Bun.gc(true);
        const t = performance.now();
        bare.cycle();
        bareUs.push((performance.now() - t) * 1e3 / n);
      }
      const idle: number[] = [];
      for (let r = 0; r < 3; r++) idle.push((await collector.cycle()).seconds);
      stillUs[n] = idle.map((x) => x / n * 1e6);
      const g = median(grownUs[n]!), t = median(tightUs[n]!);
      console.log(`collector cycle at ${n.toLocaleString()} flows, every flow grown: ${g.toFixed(2)} µs/flow wall, ${median(cpuUs[n]!).toFixed(2)} CPU (${Math.round(1e6 / g).toLocaleString()} records/s, RSS +${(rssGrown / 2 ** 20).toFixed(0)} MiB); tight floor ${t.toFixed(2)} µs/flow wall, ${median(tightCpuUs[n]!).toFixed(2)} CPU → ${(g / t).toFixed(2)}× the floor (median of ${rounds}, alternating; the floor without checkpoints ${median(bareUs).toFixed(2)}); nothing new ${(median(idle) * 1000).toFixed(0)} ms (${median(stillUs[n]!).toFixed(3)} µs/flow); load ${loadavg()}`);
      s.notes.push(`collector cycle at ${n.toLocaleString()} flows, every flow grown: ${g.toFixed(2)} µs/flow beside the tight floor's ${t.toFixed(2)} (${(g / t).toFixed(2)}×); nothing new: ${(median(idle) * 1000).toFixed(0)} ms; load ${loadavg()}`);
      if (process.argv.includes("--floor-stages")) await floorStages(reader, fd, n, tightDir, tightSigner, s);
      log.close();
      masker.close();
      tight.close();
      bare.close();
      tightSigner.close();
    } finally {
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
      Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
      rmSync(auditDir, { recursive: true, force: true });
      rmSync(tightDir, { recursive: true, force: true });
    }
  }
  // The smallest size is the baseline: a ratio near 1 at 100× the flows means linear cost.
  const command = "Collector.cycle() on a filled per-CPU map, evidence log signed through SoftHSM (Ed25519)";
  s.results.push(result({
    id: "cycle-grown", title: "collector cycle, every flow grown (µs per flow)", better: "lower", command,
    inputs: { sizes: SIZES.join(" / "), chunk: 256 },
    measurements: [...SIZES].reverse().flatMap((n) => [measurement(`${n.toLocaleString()} flows`, "µs/flow", grownUs[n]!), measurement(`${n.toLocaleString()} flows, tight floor`, "µs/flow", tightUs[n]!)]),
  }), result({
    id: "cycle-nothing-new", title: "collector cycle, nothing new (µs per flow)", better: "lower", command,
    inputs: { sizes: SIZES.join(" / ") },
    measurements: [...SIZES].reverse().map((n) => measurement(`${n.toLocaleString()} flows`, "µs/flow", stillUs[n]!)),
  }));
}

/** The floor stopped after each of its stages, on the same map: what each stage adds, CPU and wall µs per flow. */
async function floorStages(reader: FlowMapReader, fd: number, n: number, dir: string, signer: ReturnType<typeof openSigner>, s: ReturnType<typeof section>): Promise<void> {
  const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const floors = FLOOR_STAGES.map((stage) => new TightCycle(reader, `${dir}/stage-${stage}.log`, signer, stage));
  floors.forEach((f) => f.start());
  const cpu: number[][] = FLOOR_STAGES.map(() => []), wall: number[][] = FLOOR_STAGES.map(() => []);
  for (let r = 0; r < 3; r++) {
    await fill(fd, n, 1, BigInt(100 + 10 * r));
    const order = r % 2 === 0 ? [...FLOOR_STAGES.keys()] : [...FLOOR_STAGES.keys()].reverse();
    for (const k of order) {
      Bun.gc(true);
      const c0 = cpuNow(), t0 = performance.now();
      const records = floors[k]!.cycle();
      wall[k]!.push((performance.now() - t0) * 1e3 / n);
      cpu[k]!.push((cpuNow() - c0) / n * 1e6);
      if (records !== n) throw new Error(`floor stage ${FLOOR_STAGES[k]} counted ${records} flows, expected ${n}`);
    }
  }
  floors.forEach((f) => f.close());
  const lines = FLOOR_STAGES.map((stage, k) => `${stage} ${median(cpu[k]!).toFixed(2)} CPU / ${median(wall[k]!).toFixed(2)} wall (+${(median(cpu[k]!) - (k ? median(cpu[k - 1]!) : 0)).toFixed(2)} CPU)`);
  console.log(`the floor at ${n.toLocaleString()} flows, stopped after each stage, µs/flow (median of 3, alternating): ${lines.join("; ")}; load ${loadavg()}`);
  s.notes.push(`the floor at ${n.toLocaleString()} flows by stage, µs/flow CPU: ${FLOOR_STAGES.map((stage, k) => `${stage} ${median(cpu[k]!).toFixed(2)}`).join(", ")}`);
}

async function agentRuns(s: ReturnType<typeof section>): Promise<void> {
  const lab = createLab();
  cleanups.push(() => lab.destroy());
  const token = await createToken({ keyType: "ed25519" });
  cleanups.push(() => token.cleanup());
  const env = { ...process.env, ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel };
  const maxFlows = BIG + 4096; // room for the lab's own packets (IPv6 neighbour discovery) beside the filled flows
  const cmd = ["dist/ato", "run", "--iface", "VETH", "--max-flows", String(maxFlows), "--interval-ms", "1000"].join(" ");
  const start = (pinDir: string, auditDir: string) => {
    const p = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, `${dist}/ato`, "run", "--iface", lab.server.dev, "--pin-dir", pinDir,
      "--audit-dir", auditDir, "--listen", "127.0.0.1:9400", "--max-flows", String(maxFlows), "--interval-ms", "1000"], { env, stderr: "pipe", stdout: "ignore" });
    let out = "";
    void (async () => { for await (const c of p.stderr) out += new TextDecoder().decode(c); })();
    return { p, out: () => out };
  };
  const dirs = (tag: string) => {
    const pinDir = `/sys/fs/bpf/ato-bench-run-${process.pid}-${tag}`;
    const auditDir = mkdtempSync("/tmp/ato-bench-agent-audit-");
    cleanups.push(() => { rmSync(pinDir, { recursive: true, force: true }); Bun.spawnSync(["chattr", "-R", "-a", auditDir]); rmSync(auditDir, { recursive: true, force: true }); });
    return { pinDir, auditDir };
  };
  const stop = async (a: ReturnType<typeof start>) => { a.p.kill("SIGTERM"); await a.p.exited; };
  const attached = async (a: ReturnType<typeof start>) => {
    while (!/attached on/.test(a.out())) {
      if (a.p.exitCode !== null) throw new Error(`dist/ato run exited ${a.p.exitCode}: ${a.out()}`);
      await Bun.sleep(2);
    }
  };

  const attach: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const d = dirs(`start${i}`);
    const t = performance.now();
    const a = start(d.pinDir, d.auditDir);
    await attached(a);
    attach.push(performance.now() - t);
    await stop(a);
  }
  console.log(`start to attached (dist/ato, SoftHSM login, log open, native XDP on a veth, ${maxFlows.toLocaleString()}-flow map): median ${median(attach).toFixed(0)} ms of ${STARTS} (${attach.map((x) => x.toFixed(0)).join(", ")})`);
  s.results.push(result({
    id: "start-to-attached", title: "start to attached", better: "lower", command: `${cmd} (time until it logs 'attached on')`,
    inputs: { max_flows: maxFlows, hsm: "SoftHSM Ed25519", mode: "native XDP on a veth" },
    measurements: [measurement("dist/ato run", "ms", attach)],
  }));

  const hwm: Record<number, number> = {};
  const latency: Record<number, { p50: number; p99: number; rps: number }> = {};
  for (const n of SIZES) {
    const d = dirs(`mem${n}`);
    const a = start(d.pinDir, d.auditDir);
    await attached(a);
    const fd = objGet(`${d.pinDir}/flow_map`);
    const ifindex = Number(lab.exec("server", ["cat", `/sys/class/net/${lab.server.dev}/ifindex`]).trim());
    await fill(fd, n, ifindex);
    closeFd(fd);
    // Written after the agent started, so the next cycle reports all n as new; then let it settle.
    await Bun.sleep(3500);
    const status = () => readFileSync(`/proc/${a.p.pid}/status`, "utf8");
    hwm[n] = Number(status().match(/VmHWM:\s+(\d+)/)![1]) / 1024;
    const rss = Number(status().match(/VmRSS:\s+(\d+)/)![1]) / 1024;
    console.log(`agent with ${n.toLocaleString()} active flows: peak memory (VmHWM) ${hwm[n]!.toFixed(0)} MiB, resident now ${rss.toFixed(0)} MiB`);
    if (n <= 100_000) {
      const w = lab.exec("server", ["wrk", "-t1", "-c4", `-d${WRK_SECONDS}s`, "--latency", "http://127.0.0.1:9400/metrics"]);
      latency[n] = { p50: wrkMs(w, "50"), p99: wrkMs(w, "99"), rps: Number(w.match(/Requests\/sec:\s+(\S+)/)?.[1]) };
      console.log(`/metrics under wrk -t1 -c4 -d${WRK_SECONDS}s with ${n.toLocaleString()} flows active: p50 ${latency[n]!.p50.toFixed(2)} ms, p99 ${latency[n]!.p99.toFixed(2)} ms, ${latency[n]!.rps} req/s`);
    }
    await stop(a);
  }
  s.results.push(result({
    id: "peak-memory", title: "agent peak memory (VmHWM) by active flows", better: "lower",
    command: `${cmd}, n flows written into its map, VmHWM 3.5 s later`,
    inputs: { sizes: SIZES.join(" / ") },
    measurements: [...SIZES].reverse().map((n) => measurement(`${n.toLocaleString()} flows`, "MiB", [hwm[n]!])),
  }));
  for (const q of ["p50", "p99"] as const) {
    s.results.push(result({
      id: `metrics-${q}`, title: `/metrics ${q} under wrk, 100,000 flows active beside 10,000`, better: "lower",
      command: `wrk -t1 -c4 -d${WRK_SECONDS}s --latency http://127.0.0.1:9400/metrics (in the agent's namespace)`,
      inputs: { collector_interval_ms: 1000 },
      measurements: [100_000, 10_000].map((n) => measurement(`${n.toLocaleString()} flows`, "ms", [latency[n]![q]])),
    }));
  }
}

function loadavg(): string {
  return osLoad().map((x) => x.toFixed(2)).join(" ");
}

/** A wrk --latency percentile in milliseconds (wrk prints us, ms or s). */
function wrkMs(out: string, q: string): number {
  const m = out.match(new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)`, "m"));
  if (!m) throw new Error(`no ${q}% line in wrk's output:\n${out}`);
  return Number(m[1]) * ({ us: 1e-3, ms: 1, s: 1e3 } as const)[m[2] as "us" | "ms" | "s"];
}

const sections: SectionReport[] = [];
try {
  if (!process.argv.includes("--agent-only")) {
    try {
      sections.push(await mapReading());
    } catch (e) {
      console.error(`bench-agent (map reading): ${(e as Error).stack ?? e}`);
      sections.push(couldNotRun("map-reading", TITLES["map-reading"], args.command, args.quick, (e as Error).message));
      process.exitCode = 1;
    }
  }
  const s = section("agent", TITLES.agent, args.command, args.quick);
  try {
    if (!process.argv.includes("--agent-only")) await collectorCycles(s);
    if (!process.argv.includes("--collector-only")) await agentRuns(s);
    sections.push(s.finish());
  } catch (e) {
    console.error(`bench-agent: ${(e as Error).stack ?? e}`);
    sections.push(couldNotRun("agent", TITLES.agent, args.command, args.quick, (e as Error).message));
    process.exitCode = 1;
  }
} finally {
  for (const c of cleanups.reverse()) {
    try { await c(); } catch { /* keep cleaning */ }
  }
}
if (args.json) writeBenchFile(args.json, sections);
