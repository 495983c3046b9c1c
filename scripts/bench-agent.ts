#!/usr/bin/env bun
/**
 * The agent's footprint and the collector's cost (root; run after bash scripts/build.sh):
 *
 *  1. reading 1 million flows from the per-CPU map: batch lookups beside key-by-key, same map,
 *     alternating, median of 3;
 *  2. one collector cycle at 1 million flows (read, mask, 1M records appended, checkpoints signed
 *     through SoftHSM), and a cycle with nothing new;
 *  3. `ato run` on a lab interface: time from start to attached (median of 5), peak memory
 *     (VmHWM) with 10 thousand, 100 thousand and 1 million active flows, and /metrics p50/p99
 *     under wrk while 100 thousand flows are active.
 *
 *   bun scripts/bench-agent.ts [--quick] [--collector-only | --agent-only]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { closeFd, mapUpdate, objGet, possibleCpus } from "../ffi/libbpf.ts";
import { monotonicNs } from "../ffi/libc.ts";
import { Collector } from "../src/collector/index.ts";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { encodeKey, FLOW_VALUE, FlowMapReader, ifaceName, percpuStride, XdpAuditor } from "../src/kernel/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { createLab } from "./lab.ts";

const quick = process.argv.includes("--quick");
const BIG = quick ? 100_000 : 1_000_000;
const SIZES = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const dist = `${import.meta.dir}/../dist`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cleanups: (() => unknown)[] = [];

/** Writes n distinct IPv4/TCP flows, seen just now, into a flow map (values on CPU 0). */
function fill(fd: number, n: number, ifindex = 1, packets = 10n): void {
  const value = new Uint8Array(percpuStride(FLOW_VALUE.size) * possibleCpus());
  const v = new DataView(value.buffer);
  const now = monotonicNs();
  v.setBigUint64(FLOW_VALUE.packets, packets, true);
  v.setBigUint64(FLOW_VALUE.bytes, 5000n, true);
  v.setBigUint64(FLOW_VALUE.firstSeenNs, now, true);
  v.setBigUint64(FLOW_VALUE.lastSeenNs, now, true);
  for (let i = 0; i < n; i++) {
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    src.set([198, 18, (i >> 8) & 255, i & 255]);
    dst.set([198, 19, (i >> 16) & 255, 1]);
    mapUpdate(fd, encodeKey({ family: 4, proto: 6, src, dst, sport: 1024 + (i % 60000), dport: 443, vlan: 0, vlanInner: 0, ifindex }), value);
  }
}

/** Reads every flow the way the collector does (counts summed over CPUs, nothing decoded). */
function countFlows(reader: FlowMapReader, method: "batch" | "keys"): number {
  let n = 0, packets = 0;
  for (const b of reader.batches(method)) for (let i = 0; i < b.n; i++, n++) packets += b.packets(i);
  if (packets <= 0) throw new Error("no packets read");
  return n;
}

async function mapAndCollector() {
  const pinDir = `/sys/fs/bpf/ato-bench-agent-${process.pid}`;
  cleanups.push(() => rmSync(pinDir, { recursive: true, force: true }));
  const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: BIG });
  cleanups.push(() => auditor.close());
  const fd = auditor.mapFd("flows");
  let t = performance.now();
  fill(fd, BIG);
  console.log(`filled ${BIG.toLocaleString()} flows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const reader = new FlowMapReader(fd);
  const batch: number[] = [], keys: number[] = [];
  for (let r = 0; r < 3; r++) {
    t = performance.now(); const a = countFlows(reader, "batch"); batch.push(performance.now() - t);
    t = performance.now(); const b = countFlows(reader, "keys"); keys.push(performance.now() - t);
    if (a !== BIG || b !== BIG) throw new Error(`read ${a} / ${b} flows, expected ${BIG}`);
  }
  console.log(`read ${BIG.toLocaleString()} flows: batch ${median(batch).toFixed(0)} ms, key-by-key ${median(keys).toFixed(0)} ms → batch is ${(median(keys) / median(batch)).toFixed(1)}× faster`);

  await collectorCycles();
}

/**
 * One collector cycle at each size, on a fresh map: every flow grown (n records masked, signed
 * into the log through SoftHSM), then a cycle with nothing new. The per-flow cost across sizes
 * shows whether the cycle stays linear.
 */
async function collectorCycles() {
  const token = await createToken({ keyType: "ed25519" });
  cleanups.push(() => token.cleanup());
  for (const n of SIZES) {
    const pinDir = `/sys/fs/bpf/ato-bench-cycle-${process.pid}-${n}`;
    const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows: n });
    const auditDir = mkdtempSync("/tmp/ato-bench-agent-audit-");
    try {
      const fd = auditor.mapFd("flows");
      fill(fd, n);
      const log = EvidenceLog.open({ auditDir, signer: openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel }), checkpointIntervalMs: 0 });
      const masker = Masker.open({});
      const collector = new Collector({ reader: new FlowMapReader(fd), masker, log, idleTimeoutNs: 3600n * 1_000_000_000n, ifaceName });
      collector.start();
      fill(fd, n, 1, 20n); // the same keys again, counted anew after start: every flow has grown
      Bun.gc(true);
      const rss0 = process.memoryUsage().rss;
      const grown = await collector.cycle();
      const rss1 = process.memoryUsage().rss;
      const idle: number[] = [];
      for (let r = 0; r < 3; r++) idle.push((await collector.cycle()).seconds);
      const still = median(idle);
      if (grown.records !== n) throw new Error(`cycle wrote ${grown.records} records, expected ${n}`);
      console.log(`collector cycle at ${n.toLocaleString()} flows: every flow grown ${grown.seconds.toFixed(2)} s (${Math.round(n / grown.seconds).toLocaleString()} records/s, ${(grown.seconds / n * 1e6).toFixed(2)} µs/flow, RSS +${((rss1 - rss0) / 2 ** 20).toFixed(0)} MiB); nothing new ${(still * 1000).toFixed(0)} ms median of 3 (${(still / n * 1e6).toFixed(3)} µs/flow)`);
      log.close();
      masker.close();
    } finally {
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
      Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
      rmSync(auditDir, { recursive: true, force: true });
    }
  }
}

async function agentRuns() {
  const lab = createLab();
  cleanups.push(() => lab.destroy());
  const token = await createToken({ keyType: "ed25519" });
  cleanups.push(() => token.cleanup());
  const env = { ...process.env, ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel };
  // --max-flows leaves room for the lab's own packets (IPv6 neighbour discovery) beside the filled flows.
  const start = (pinDir: string, auditDir: string) => {
    const p = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, `${dist}/ato`, "run", "--iface", lab.server.dev, "--pin-dir", pinDir,
      "--audit-dir", auditDir, "--listen", "127.0.0.1:9400", "--max-flows", String(BIG + 4096), "--interval-ms", "1000"], { env, stderr: "pipe", stdout: "ignore" });
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

  const attach: number[] = [];
  for (let i = 0; i < 5; i++) {
    const d = dirs(`start${i}`);
    const t = performance.now();
    const a = start(d.pinDir, d.auditDir);
    while (!/attached on/.test(a.out())) {
      if (a.p.exitCode !== null) throw new Error(a.out());
      await Bun.sleep(2);
    }
    attach.push(performance.now() - t);
    await stop(a);
  }
  console.log(`start to attached (dist/ato, SoftHSM login, log open, native XDP on a veth): median ${median(attach).toFixed(0)} ms of 5 (${attach.map((x) => x.toFixed(0)).join(", ")})`);

  for (const n of SIZES) {
    const d = dirs(`mem${n}`);
    const a = start(d.pinDir, d.auditDir);
    while (!/attached on/.test(a.out())) await Bun.sleep(20);
    const fd = objGet(`${d.pinDir}/flow_map`);
    const ifindex = Number(lab.exec("server", ["cat", `/sys/class/net/${lab.server.dev}/ifindex`]).trim());
    fill(fd, n, ifindex);
    closeFd(fd);
    // Written after the agent started, so the next cycle reports all n as new; then let it settle.
    await Bun.sleep(3500);
    const hwm = Number(readFileSync(`/proc/${a.p.pid}/status`, "utf8").match(/VmHWM:\s+(\d+)/)![1]) / 1024;
    const rss = Number(readFileSync(`/proc/${a.p.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)![1]) / 1024;
    console.log(`agent with ${n.toLocaleString()} active flows: peak memory (VmHWM) ${hwm.toFixed(0)} MiB, resident now ${rss.toFixed(0)} MiB`);
    if (n === 100_000) {
      const w = lab.exec("server", ["wrk", "-t1", "-c4", "-d5s", "--latency", "http://127.0.0.1:9400/metrics"]);
      const p = (q: string) => w.match(new RegExp(`^\\s+${q}%\\s+(\\S+)`, "m"))?.[1];
      console.log(`/metrics under wrk -t1 -c4 -d5s with 100,000 flows active: p50 ${p("50")}, p99 ${p("99")}, ${w.match(/Requests\/sec:\s+(\S+)/)?.[1]} req/s`);
    }
    await stop(a);
  }
}

try {
  if (!process.argv.includes("--agent-only")) await mapAndCollector();
  if (!process.argv.includes("--collector-only")) await agentRuns();
} finally {
  for (const c of cleanups.reverse()) {
    try { await c(); } catch { /* keep cleaning */ }
  }
}
