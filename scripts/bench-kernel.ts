#!/usr/bin/env bun
/**
 * Kernel-side benchmarks of the XDP program (run as root after bash scripts/build.sh):
 *
 *  1. ns per packet through BPF_PROG_TEST_RUN (the kernel's own timing over `repeat` runs) for
 *     xdp_audit.o on IPv4/TCP, IPv6 with two extension headers, QinQ and a malformed frame,
 *     interleaved in one run with a trivial XDP_PASS program and a one-counter program;
 *     medians of several rounds, reported as ratios to the baselines.
 *  2. Program size (xlated and jited bytes) and the verifier's processed-instruction count.
 *  3. The highest rate trafgen could push over a lab veth at which ato counted every packet.
 *
 *   bun scripts/bench-kernel.ts [--repeat N] [--rounds N] [--quick] [--json FILE]
 */
import { rmSync, writeFileSync } from "node:fs";
import { BpfObject, closeFd, objGet, progInfo, testRun } from "../ffi/libbpf.ts";
import { FlowMapReader, XdpAuditor, DEFAULT_CONFIG } from "../src/kernel/index.ts";
import { concat, eth, ETH_P, ext, IPPROTO, tcp, udp, v4Frame, v6Frame } from "../test/support/frames.ts";
import { createLab } from "./lab.ts";

const args = process.argv.slice(2);
const flag = (n: string, d: string) => { const i = args.indexOf(`--${n}`); return i >= 0 ? args[i + 1]! : d; };
const quick = args.includes("--quick");
const repeat = Number(flag("repeat", quick ? "100000" : "1000000"));
const rounds = Number(flag("rounds", quick ? "3" : "5"));
const dist = `${import.meta.dir}/../dist`;
const pin = `/sys/fs/bpf/ato-bench-${process.pid}`;

const frames: Record<string, Uint8Array> = {
  "ipv4/tcp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.TCP }, tcp(40000, 443, 0x10)).frame,
  "ipv6+2ext/udp": v6Frame("fd00::1", "fd00::2", IPPROTO.HOPOPTS, [ext(IPPROTO.DSTOPTS), ext(IPPROTO.UDP), udp(1, 2, 16)]).frame,
  "qinq/ipv4/udp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP }, udp(1, 2, 16),
    [{ tpid: ETH_P.QINQ, vid: 100 }, { tpid: ETH_P.VLAN, vid: 200 }]).frame,
  "malformed (ihl<5)": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP, ihl: 4 }, udp(1, 2)).frame,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function perPacket() {
  const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir: pin });
  auditor.configure({ ...DEFAULT_CONFIG, spikeThreshold: 1 << 30, timingEnabled: true });
  const pass = BpfObject.open(`${dist}/bench_pass.o`); pass.load();
  const count = BpfObject.open(`${dist}/bench_count.o`); count.load();
  const progs = { "xdp_audit": auditor.progFd, "XDP_PASS only": pass.programFd("bench_pass"), "one counter": count.programFd("bench_count") };
  const rows: { frame: string; audit: number; pass: number; count: number }[] = [];
  for (const [name, frame] of Object.entries(frames)) {
    const samples = { audit: [] as number[], pass: [] as number[], count: [] as number[] };
    for (let r = 0; r < rounds; r++) { // interleaved, so drift hits all three alike
      samples.pass.push(testRun(progs["XDP_PASS only"], frame, repeat).durationNs);
      samples.count.push(testRun(progs["one counter"], frame, repeat).durationNs);
      samples.audit.push(testRun(progs.xdp_audit, frame, repeat).durationNs);
    }
    rows.push({ frame: name, audit: median(samples.audit), pass: median(samples.pass), count: median(samples.count) });
  }
  const info = progInfo(auditor.progFd);
  pass.close(); count.close(); auditor.close();
  return { rows, info };
}

/** Sends `n` frames with trafgen at `pps` and returns how many ato counted. */
async function rateStep(lab: ReturnType<typeof createLab>, pps: number, n: number, seq: number) {
  const frame = v4Frame({ src: lab.client.v4, dst: lab.server.v4, proto: IPPROTO.UDP }, udp(20000 + seq, 9, 18)).frame;
  const withMac = concat(Uint8Array.from(lab.server.mac.split(":").map((h) => parseInt(h, 16))), frame.subarray(6));
  const conf = `/tmp/ato-bench-${process.pid}.trafgen`;
  writeFileSync(conf, `{ ${[...withMac].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")} }\n`);
  const t0 = performance.now();
  lab.exec("client", ["trafgen", "--dev", lab.client.dev, "--conf", conf, "--num", String(n), "--rate", `${pps}pps`, "--qdisc-path"]);
  const secs = (performance.now() - t0) / 1000;
  rmSync(conf, { force: true });
  await Bun.sleep(200);
  const fd = objGet(`${pin}-rate/flow_map`);
  const flows = new FlowMapReader(fd).readAll();
  closeFd(fd);
  const counted = flows.filter((f) => f.key.sport === 20000 + seq).reduce((s, f) => s + Number(f.counts.packets), 0);
  return { pps, sent: n, counted, achievedPps: Math.round(n / secs) };
}

async function maxRate() {
  const lab = createLab();
  const pinDir = `${pin}-rate`;
  const agent = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/../src/main.ts`, "run", "--iface", lab.server.dev, "--pin-dir", pinDir], { stderr: "pipe" });
  try {
    await Bun.sleep(1500);
    const steps = [];
    const rates = quick ? [10_000, 50_000] : [10_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000];
    let seq = 0;
    for (const pps of rates) {
      const s = await rateStep(lab, pps, quick ? 20_000 : Math.min(pps * 2, 1_000_000), seq++);
      steps.push(s);
      console.log(`  trafgen ${pps} pps requested, ${s.achievedPps} achieved: sent ${s.sent}, ato counted ${s.counted}`);
    }
    return steps;
  } finally {
    agent.kill("SIGTERM");
    await agent.exited;
    lab.destroy();
    rmSync(pinDir, { recursive: true, force: true });
  }
}

console.log(`BPF_PROG_TEST_RUN, repeat ${repeat}, median of ${rounds} interleaved rounds (ns per packet, kernel-timed)`);
let result;
try {
  result = perPacket();
} finally {
  rmSync(pin, { recursive: true, force: true });
}
console.log("frame                 xdp_audit  XDP_PASS  1-counter   ÷PASS  ÷counter");
for (const r of result.rows) {
  console.log(`${r.frame.padEnd(20)} ${String(r.audit).padStart(9)} ${String(r.pass).padStart(9)} ${String(r.count).padStart(10)} ${(r.audit / r.pass).toFixed(2).padStart(7)} ${(r.audit / r.count).toFixed(2).padStart(9)}`);
}
console.log(`program: ${result.info.xlatedBytes / 8} xlated instructions (${result.info.xlatedBytes} bytes), ${result.info.jitedBytes} jited bytes, verifier processed ${result.info.verifiedInsns} instructions`);
console.log("max rate over a veth with every packet counted (trafgen → native XDP):");
const rate = await maxRate();
const complete = rate.filter((s) => s.counted === s.sent);
console.log(`highest complete step: ${complete.length ? Math.max(...complete.map((s) => s.achievedPps)) : 0} pps achieved`);
const out = flag("json", "");
if (out) writeFileSync(out, JSON.stringify({ repeat, rounds, perPacket: result.rows, program: result.info, rate }, null, 2));
