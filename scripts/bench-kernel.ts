#!/usr/bin/env bun
/**
 * Kernel-side cost of the XDP program (run as root after bash scripts/build.sh):
 *
 *  1. ns per packet through BPF_PROG_TEST_RUN (the kernel's own timing over `repeat` runs) for
 *     xdp_audit.o on IPv4/TCP, IPv6 with two extension headers, QinQ and a malformed frame,
 *     interleaved in one run with a trivial XDP_PASS program and a one-counter program;
 *     medians of several rounds, reported as ratios to the baselines.
 *  2. Program size (xlated and jited bytes) and the verifier's processed-instruction count.
 *
 * Rates over a real veth, and what ato and its peers count there, are bench-peers.ts's part.
 *
 *   bun scripts/bench-kernel.ts [--repeat N] [--rounds N] [--quick] [--json PATH]
 */
import { rmSync } from "node:fs";
import { BpfObject, progInfo, testRun } from "../ffi/libbpf.ts";
import { XdpAuditor, DEFAULT_CONFIG } from "../src/kernel/index.ts";
import { ext, ETH_P, IPPROTO, tcp, udp, v4Frame, v6Frame } from "../test/support/frames.ts";
import { benchArgs, runSection, measurement, median, result, section } from "./bench-lib.ts";

const args = benchArgs();
const repeat = args.number("repeat", args.quick ? 100_000 : 1_000_000);
const rounds = args.number("rounds", args.quick ? 3 : 5);
const dist = `${import.meta.dir}/../dist`;
const pin = `/sys/fs/bpf/ato-bench-${process.pid}`;
const TITLE = "Per-packet cost in the kernel (BPF_PROG_TEST_RUN)";

const frames: Record<string, Uint8Array> = {
  "ipv4/tcp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.TCP }, tcp(40000, 443, 0x10)).frame,
  "ipv6+2ext/udp": v6Frame("fd00::1", "fd00::2", IPPROTO.HOPOPTS, [ext(IPPROTO.DSTOPTS), ext(IPPROTO.UDP), udp(1, 2, 16)]).frame,
  "qinq/ipv4/udp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP }, udp(1, 2, 16),
    [{ tpid: ETH_P.QINQ, vid: 100 }, { tpid: ETH_P.VLAN, vid: 200 }]).frame,
  "malformed (ihl<5)": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP, ihl: 4 }, udp(1, 2)).frame,
};

function perPacket() {
  const auditor = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir: pin });
  auditor.configure({ ...DEFAULT_CONFIG, spikeThreshold: 1 << 30, timingEnabled: true });
  const pass = BpfObject.open(`${dist}/bench_pass.o`); pass.load();
  const count = BpfObject.open(`${dist}/bench_count.o`); count.load();
  const progs = { "xdp_audit": auditor.progFd, "XDP_PASS only": pass.programFd("bench_pass"), "one counter": count.programFd("bench_count") };
  const rows: { frame: string; bytes: number; samples: { audit: number[]; pass: number[]; count: number[] } }[] = [];
  for (const [name, frame] of Object.entries(frames)) {
    const samples = { audit: [] as number[], pass: [] as number[], count: [] as number[] };
    for (let r = 0; r < rounds; r++) { // interleaved, so drift hits all three alike
      samples.pass.push(testRun(progs["XDP_PASS only"], frame, repeat).durationNs);
      samples.count.push(testRun(progs["one counter"], frame, repeat).durationNs);
      samples.audit.push(testRun(progs.xdp_audit, frame, repeat).durationNs);
    }
    rows.push({ frame: name, bytes: frame.length, samples });
  }
  const info = progInfo(auditor.progFd);
  pass.close(); count.close(); auditor.close();
  return { rows, info };
}

function main() {
  const s = section("kernel", TITLE, args.command, args.quick);
  console.log(`BPF_PROG_TEST_RUN, repeat ${repeat}, median of ${rounds} interleaved rounds (ns per packet, kernel-timed)`);
  let run;
  try {
    run = perPacket();
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
  console.log("frame                 xdp_audit  XDP_PASS  1-counter   ÷PASS  ÷counter");
  for (const r of run.rows) {
    const [audit, pass, count] = [median(r.samples.audit), median(r.samples.pass), median(r.samples.count)];
    console.log(`${r.frame.padEnd(20)} ${String(audit).padStart(9)} ${String(pass).padStart(9)} ${String(count).padStart(10)} ${(audit / pass).toFixed(2).padStart(7)} ${(audit / count).toFixed(2).padStart(9)}`);
    s.results.push(result({
      id: `ns-per-packet/${r.frame.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}`,
      title: `ns/packet, ${r.frame}`,
      better: "lower",
      command: `BPF_PROG_TEST_RUN of each program on the same ${r.bytes}-byte frame, repeat ${repeat}, rounds interleaved`,
      inputs: { frame: r.frame, frame_bytes: r.bytes, repeat, rounds },
      measurements: [
        measurement("xdp_audit", "ns/packet", r.samples.audit),
        measurement("XDP_PASS only", "ns/packet", r.samples.pass),
        measurement("one counter", "ns/packet", r.samples.count),
      ],
    }));
  }
  const p = `program: ${run.info.xlatedBytes / 8} xlated instructions (${run.info.xlatedBytes} bytes), ${run.info.jitedBytes} jited bytes, verifier processed ${run.info.verifiedInsns} instructions`;
  console.log(p);
  s.notes.push(p, "XDP_PASS only (bpf/bench_pass.c) returns XDP_PASS; one counter (bpf/bench_count.c) adds one to a per-CPU array and passes: the floor of any XDP program, and of any program that counts");
  return s.finish();
}

await runSection("kernel", TITLE, main);
