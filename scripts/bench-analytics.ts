#!/usr/bin/env bun
/**
 * Analytics: what IPFIX export and the anomaly detectors cost, measured on loopback and in-process.
 *
 *   IPFIX export rate     records per second one core encodes and sends over UDP to a real nfcapd on loopback
 *                         (as fast as it goes), beside encoding alone (no socket): the send's share of the cost.
 *   nfcapd's share        of the records sent at that rate, the share nfdump reads back from what nfcapd wrote
 *                         (the rest is lost in the sockets: IPFIX over UDP has no flow control), and the share at
 *                         a paced 20 000 records/s.
 *   detector CPU          CPU seconds per million flows fed to the detector (cycles of 10 000 flows from 2 000
 *                         sources to 200 services), beside a floor: one pass that only tallies bytes per source.
 *
 *   tracing overhead      CPU nanoseconds per traced unit of work (a span with four attributes, as a collection
 *                         cycle has), with tracing on (OTLP/HTTP protobuf to a loopback receiver, batches of 512)
 *                         and off (the no-op tracer), beside the untraced work itself (a loop that sums 1 000
 *                         numbers): many short rounds, the three interleaved, CPU time (getrusage).
 *
 *   bun scripts/bench-analytics.ts [--quick] [--json PATH]
 */
import { IpfixStream } from "../src/ipfix/stream.ts";
import { IpfixExporter, parseTarget, type FlowExport } from "../src/ipfix/index.ts";
import type { Transport } from "../src/ipfix/transport.ts";
import { AnomalyDetector, type DetectFlow } from "../src/detect/index.ts";
import { LiveDetectFeed } from "../src/agent/detect.ts";
import { encodeKey, FlowBatch, flowNumbers } from "../src/kernel/index.ts";
import { Nfcapd } from "../test/ipfix/_collectors.ts";
import { NOOP_TRACER, OtlpTracer, type Tracer } from "../src/trace/index.ts";
import { benchArgs, measurement, median, result, runSection, section } from "./bench-lib.ts";

const args = benchArgs();
const TITLE = "Analytics: IPFIX export rate and nfcapd's share, detector CPU, tracing overhead";
const collectors: Nfcapd[] = [];
const servers: { stop(force?: boolean): unknown }[] = [];

function flows(n: number): FlowExport[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    family: 4 as const, proto: 6, src: new Uint8Array([198, 18, (i >> 8) & 255, i & 255]), dst: new Uint8Array([198, 19, 0, 1]),
    sport: 1024 + (i % 60000), dport: 443, packets: 1 + (i % 100), bytes: 64 * (1 + (i % 100)), startMs: now - 1000, endMs: now,
    tcpFlags: 0x1b, vlan: 0, vlanInner: 0, ifindex: 2, reason: "idle" as const,
  }));
}

const OPTS = { addresses: "unmasked" as const, ipv4Prefix: 24, ipv6Prefix: 48, domain: 1, refreshSeconds: 600, refreshMessages: 1000 };

/** Sends `total` records in batches of 1000, paced to `rate` records/s (0: as fast as it goes); returns records/s of CPU time and nfcapd's share. */
async function exportTo(total: number, rate: number): Promise<{ perSecond: number; share: number; droppedAtSocket: number }> {
  const nf = await Nfcapd.start();
  collectors.push(nf);
  const ex = await IpfixExporter.open({ ...OPTS, targets: [`udp://127.0.0.1:${nf.port}`] });
  const batch = flows(1000);
  const t0 = performance.now();
  let cpu = 0;
  for (let sent = 0; sent < total; sent += batch.length) {
    const c0 = process.cpuUsage();
    ex.export(batch);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6;
    if (rate > 0) {
      const due = t0 + ((sent + batch.length) / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  }
  await Bun.sleep(500);
  const stats = ex.stats()[0]!.stats;
  await ex.close();
  await nf.finish();
  const info = nf.info();
  const received = Number(info["Flows"] ?? 0);
  return { perSecond: total / cpu, share: received / total, droppedAtSocket: stats.droppedRecords / total };
}

/** Encoding alone: the same stream into a transport that keeps nothing. */
function encodeOnly(total: number): number {
  const sink: Transport = { target: parseTarget("udp://127.0.0.1:9"), maxMessage: 1400, session: () => 0, send: () => true, close: async () => {} };
  const s = new IpfixStream(sink, OPTS);
  const batch = flows(1000);
  const c0 = process.cpuUsage();
  for (let sent = 0; sent < total; sent += batch.length) s.send(batch);
  const c = process.cpuUsage(c0);
  return total / ((c.user + c.system) / 1e6);
}

function cycles(n: number, perCycle: number): DetectFlow[][] {
  return Array.from({ length: n }, (_, c) => Array.from({ length: perCycle }, (_, i) => ({
    proto: 6, ifindex: 2, src: `198.18.${(i % 2000) >> 8}.${i % 256}/32`, dst: "198.19.0.0/24", dstId: `198.19.0.${i % 50}`,
    sport: 1024 + ((i + c) % 60000), dport: 8000 + (i % 200), packets: 10, bytes: 1500, tcpFlags: 0x1b, isNew: i % 3 === 0,
  })));
}

function detectorCpu(feed: DetectFlow[][]): number {
  const d = new AnomalyDetector({ warmupCycles: 5 });
  const c0 = process.cpuUsage();
  for (const cycle of feed) d.observe(cycle, 1);
  const c = process.cpuUsage(c0);
  const flowsFed = feed.reduce((n, f) => n + f.length, 0);
  return ((c.user + c.system) / 1e6) * (1e6 / flowsFed);
}

/**
 * The agent's path: cycles of flows in a FlowBatch (the map reading's own buffer), each handed to the live
 * feed's onRead as the collector does, then the cycle to the detector. Same flows as cycles(): 2 000 sources
 * (masked to /32 here, so the sources stay distinct), 200 services, a third new.
 */
function liveBatches(n: number, perCycle: number): FlowBatch[] {
  return Array.from({ length: n }, (_, c) => {
    const b = new FlowBatch(perCycle, 1);
    for (let i = 0; i < perCycle; i++) {
      const src = new Uint8Array(16), dst = new Uint8Array(16);
      src.set([198, 18, (i % 2000) >> 8, i % 256]);
      dst.set([198, 19, 0, i % 50]);
      b.keys.set(encodeKey({ family: 4, proto: 6, src, dst, sport: 1024 + ((i + c) % 60000), dport: 8000 + (i % 200), vlan: 0, vlanInner: 0, ifindex: 2 }), i * 48);
    }
    b.n = perCycle;
    return b;
  });
}

function liveCpu(batches: FlowBatch[]): number {
  const d = new AnomalyDetector({ warmupCycles: 5 });
  const feed = new LiveDetectFeed(32, 128);
  const counts = flowNumbers({ packets: 10n, bytes: 1500n, firstSeenNs: 1n, lastSeenNs: 2n, tcpFlags: 0x1b, fragments: 0, timingFlags: 0, spikes: 0 });
  const grown = { packets: 10, bytes: 1500 };
  const c0 = process.cpuUsage();
  for (const b of batches) {
    for (let i = 0; i < b.n; i++) feed.onRead(b, i, grown, i % 3 === 0, counts);
    d.observe(feed.take(), 1);
  }
  const c = process.cpuUsage(c0);
  const flowsFed = batches.reduce((n, b) => n + b.n, 0);
  return ((c.user + c.system) / 1e6) * (1e6 / flowsFed);
}

function floorCpu(feed: DetectFlow[][]): number {
  const c0 = process.cpuUsage();
  let sink = 0;
  for (const cycle of feed) {
    const m = new Map<string, number>();
    for (const f of cycle) m.set(f.src, (m.get(f.src) ?? 0) + f.bytes);
    sink += m.size;
  }
  const c = process.cpuUsage(c0);
  if (sink < 0) console.log(sink);
  const flowsFed = feed.reduce((n, f) => n + f.length, 0);
  return ((c.user + c.system) / 1e6) * (1e6 / flowsFed);
}

async function main() {
  const s = section("analytics", TITLE, args.command, args.quick);
  const reps = args.quick ? 3 : 5;
  const total = args.quick ? 100_000 : 500_000;

  encodeOnly(total); // warm-up: JIT
  const fast = [], share = [], dropped = [], encode = [], paced = [];
  for (let r = 0; r < reps; r++) {
    const f = await exportTo(total, 0);
    fast.push(f.perSecond);
    share.push(f.share * 100);
    dropped.push(f.droppedAtSocket * 100);
    encode.push(encodeOnly(total));
  }
  for (let r = 0; r < (args.quick ? 1 : 3); r++) paced.push((await exportTo(args.quick ? 40_000 : 100_000, 20_000)).share * 100);
  console.log(`  IPFIX: ${Math.round(fast[0]!)} records/s over UDP (CPU), ${Math.round(encode[0]!)} encoding only; nfcapd got ${share.map((x) => x.toFixed(1)).join(", ")} %, paced 20k/s: ${paced.map((x) => x.toFixed(1)).join(", ")} %`);
  s.results.push(result({
    id: "ipfix-records-per-second", title: "IPFIX records one core exports per CPU second, UDP to nfcapd on loopback", better: "higher",
    command: "IpfixExporter.export() in batches of 1000 IPv4 records to udp://127.0.0.1 (nfcapd), CPU time of the exporter",
    inputs: { records: total, record_bytes: 56, message_bytes_max: 1400 },
    measurements: [measurement("export over UDP", "records/s", fast), measurement("encoding only (no socket)", "records/s", encode)],
  }));
  s.results.push(result({
    id: "ipfix-nfcapd-share", title: "share of exported records nfcapd wrote, at full rate and paced to 20 000 records/s", better: "higher",
    command: "nfdump -I Flows ÷ records exported",
    inputs: { records: total },
    measurements: [measurement("full rate", "%", share), measurement("paced 20 000/s", "%", paced)],
  }));
  s.notes.push(`At full rate, the exporter's socket refused ${dropped.map((x) => x.toFixed(1)).join(", ")} % of the records (counted as dropped, and a sequence gap for nfcapd); the rest of the loss is nfcapd's receive buffer.`);

  const perCycle = 10_000;
  const feed = cycles(args.quick ? 30 : 100, perCycle);
  detectorCpu(feed.slice(0, 5));
  const batches = liveBatches(feed.length, perCycle);
  liveCpu(batches.slice(0, 5));
  const live = [], det = [], floor = [];
  for (let r = 0; r < reps; r++) { live.push(liveCpu(batches)); det.push(detectorCpu(feed)); floor.push(floorCpu(feed)); }
  console.log(`  detector: ${median(live).toFixed(3)} CPU s per million flows fed from the map reading, ${median(det).toFixed(3)} given ready flows (floor ${median(floor).toFixed(3)})`);
  s.results.push(result({
    id: "detector-cpu-per-million-flows", title: "detector CPU seconds per million flows", better: "lower",
    command: "LiveDetectFeed.onRead() per flow of a FlowBatch, then AnomalyDetector.observe(), over cycles of 10 000 flows (2 000 sources, 200 services, a third new)",
    inputs: { flows_per_cycle: perCycle, cycles: feed.length },
    measurements: [measurement("detector fed by the map reading (agent path)", "CPU s / 1M flows", live), measurement("detector alone (flows ready)", "CPU s / 1M flows", det), measurement("floor: bytes per source tally", "CPU s / 1M flows", floor)],
  }));

  // The receiver runs in a process of its own: its CPU is not the agent's.
  const rxProc = Bun.spawn(["bun", "-e", `const s = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch(r) { await r.arrayBuffer(); return new Response(null); } }); console.log(s.port);`], { stdout: "pipe" });
  servers.push({ stop: () => rxProc.kill() });
  const reader = rxProc.stdout.getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the OTLP receiver did not start");
    first += new TextDecoder().decode(value);
  }
  const rx = { port: Number(first.trim()) };
  // Many short rounds, the three contenders in a rotating order within each: load from other work on the
  // machine falls on all three alike. CPU time of this process (getrusage), not wall time.
  const rounds = args.quick ? 15 : 40;
  const units = 2_000;
  const on: number[] = [], off: number[] = [], bare: number[] = [];
  const t = new OtlpTracer({ endpoint: `http://127.0.0.1:${rx.port}`, serviceName: "ato-bench", serviceVersion: "0" });
  const runs: [number[], Tracer | null][] = [[on, t], [off, NOOP_TRACER], [bare, null]];
  for (let r = 0; r < rounds + 2; r++) {
    for (let k = 0; k < runs.length; k++) {
      const [into, tracer] = runs[(r + k) % runs.length]!;
      const ns = await traced(tracer, units);
      if (r >= 2) into.push(ns); // the first rounds warm the JIT and the connection
    }
  }
  const [mOn, mOff, mBare] = [median(on), median(off), median(bare)];
  console.log(`  tracing: ${mOn.toFixed(0)} ns per unit on, ${mOff.toFixed(0)} off, ${mBare.toFixed(0)} untraced (medians of ${rounds} interleaved rounds): on ${(mOn / mBare).toFixed(3)}×, off ${(mOff / mBare).toFixed(3)}× the untraced work`);
  s.results.push(result({
    id: "tracing-overhead", title: "CPU ns per unit of work (a cycle-like span with 4 attributes around summing 1 000 numbers)", better: "lower",
    command: "OtlpTracer to a loopback OTLP/HTTP receiver beside NOOP_TRACER beside no tracer, CPU of this process (getrusage, sending included), interleaved rounds",
    inputs: { units_per_round: units, rounds, order: "rotating per round" },
    measurements: [measurement("tracing on (OTLP/HTTP)", "ns/unit", on), measurement("tracing off (no-op)", "ns/unit", off), measurement("untraced", "ns/unit", bare)],
  }));
  s.notes.push(`tracing: a span costs about ${Math.round(mOn - mBare)} ns of CPU when on (encoding and sending included) and ${Math.round(mOff - mBare)} ns when off (the no-op call site); the agent makes one per cycle, checkpoint, witness submission and forward batch.`);
  return s.finish();
}

const work = new Float64Array(1000).map((_, i) => i);
let sink = 0;
/** One unit of work, traced as Analytics.cycle traces a collection: a span, three attributes set after the work. */
function unit(t: Tracer | null, i: number): void {
  if (t) {
    const span = t.start("ato.collect", { final: false });
    for (let j = 0; j < work.length; j++) sink += work[j]!;
    span.set("flows", i).set("records", 3).set("removed", 0).end();
  } else {
    for (let j = 0; j < work.length; j++) sink += work[j]!;
  }
}

/** CPU ns per unit of work, with the tracer given (null: no tracing code at all), its export included. */
async function traced(t: Tracer | null, units: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < units; i++) unit(t, i);
  await t?.flush();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / units;
}

await runSection("analytics", TITLE, main, async () => {
  for (const c of collectors) await c.stop();
  for (const s of servers) s.stop(true);
  if (sink < 0) console.log(sink);
});
