#!/usr/bin/env bun
/**
 * Kernel-side cost of the XDP program (run as root after bash scripts/build.sh), measured with
 * BPF_PROG_TEST_RUN (the kernel's own timing), every program interleaved round by round:
 *
 *  1. One warm flow: ns per packet over `repeat` runs of one frame (IPv4/TCP, IPv6 with two
 *     extension headers, QinQ, a malformed frame) for xdp_audit and its baselines: XDP_PASS,
 *     one counter, the floor flow meter (bpf/bench_floor.c), and at TC a bare classifier beside
 *     netobserv-ebpf-agent's flow program (built from ATO_NETOBSERV_SRC, see bench-kernel/netobserv.ts).
 *     The cost over the bare hook (program − XDP_PASS, or − bare TC) is the figure compared.
 *  2. Many flows: `--flows` distinct IPv4/TCP keys, one run per frame in turn, so each lookup
 *     finds its entry after all the others were touched (cold), and each flow's first packet
 *     (an insert) measured apart; flow maps emptied between rounds.
 *  3. Loading with a 1M-flow map, the flow map preallocated or not.
 *  4. Program size and the verifier's processed-instruction count.
 *
 *   bun scripts/bench-kernel.ts [--repeat N] [--rounds N] [--flows N] [--compare OLD.o] [--quick] [--json PATH]
 *
 * --compare runs an older build of xdp_audit.o beside the current one. Rates over a real veth are
 * bench-peers.ts's part; start to attached of the whole agent is bench-agent.ts's.
 */
import { progInfo } from "../ffi/libbpf.ts";
import { PREALLOC_MAX_FLOWS } from "../src/kernel/loader.ts";
import { ext, ETH_P, IPPROTO, tcp, udp, v4Frame, v6Frame } from "../test/support/frames.ts";
import { benchArgs, runSection, measurement, median, result, section } from "./bench-lib.ts";
import { loadContenders, NAMES, type Contender } from "./bench-kernel/contenders.ts";
import { manyFlows, warm } from "./bench-kernel/runs.ts";
import { loadTimes } from "./bench-kernel/load.ts";

const args = benchArgs();
const repeat = args.number("repeat", args.quick ? 100_000 : 1_000_000);
const rounds = args.number("rounds", args.quick ? 3 : 5);
const flows = args.number("flows", args.quick ? 1024 : 4096);
const loadFlows = args.number("load-flows", 1 << 20);
const compare = args.value("compare");
const dist = `${import.meta.dir}/../dist`;
const pinRoot = `/sys/fs/bpf/ato-bench-${process.pid}`;
const TITLE = "Per-packet cost in the kernel (BPF_PROG_TEST_RUN)";

const frames: Record<string, Uint8Array> = {
  "ipv4/tcp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.TCP }, tcp(40000, 443, 0x10)).frame,
  "ipv6+2ext/udp": v6Frame("fd00::1", "fd00::2", IPPROTO.HOPOPTS, [ext(IPPROTO.DSTOPTS), ext(IPPROTO.UDP), udp(1, 2, 16)]).frame,
  "qinq/ipv4/udp": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP }, udp(1, 2, 16),
    [{ tpid: ETH_P.QINQ, vid: 100 }, { tpid: ETH_P.VLAN, vid: 200 }]).frame,
  "malformed (ihl<5)": v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP, ihl: 4 }, udp(1, 2)).frame,
};

/** Distinct IPv4/TCP flows: 256 sources times ports, all to one server port. */
function flowFrames(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    v4Frame({ src: `198.18.${1 + (i & 0xff)}.${1 + ((i >> 8) & 0xff)}`, dst: "198.19.0.2", proto: IPPROTO.TCP }, tcp(1024 + (i >> 16), 443, 0x10)).frame);
}

const id = (s: string) => s.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "");
const pad = (s: string | number, n: number) => String(s).padStart(n);

function main() {
  const s = section("kernel", TITLE, args.command, args.quick);
  const set = loadContenders({ dist, pinRoot, compare, netobserv: true });
  try {
    const by = (n: string) => set.list.find((c) => c.name === n);
    const xdp = set.list.filter((c) => c.hook === "xdp");
    const tcOnly = set.list.filter((c) => c.hook === "tc");
    const baselineOf = (c: Contender) => (c.hook === "xdp" ? by(NAMES.pass)! : by(NAMES.tcPass)!);
    const unavailable = set.unavailable;
    s.notes.push(...set.notes);

    console.log(`1. one warm flow: repeat ${repeat}, median of ${rounds} interleaved rounds (ns per packet, kernel-timed)`);
    for (const [name, frame] of Object.entries(frames)) {
      // The floor and the TC pair parse IPv4 only: they run on the IPv4/TCP frame.
      const runs = name === "ipv4/tcp" ? set.list : xdp.filter((c) => c.name !== NAMES.floor);
      const samples = warm(runs, frame, repeat, rounds);
      report(s, `ns-per-packet/${id(name)}`, `ns/packet, ${name}, one warm flow`, runs, samples,
        `BPF_PROG_TEST_RUN of each program on the same ${frame.length}-byte frame, repeat ${repeat}, rounds interleaved`,
        { frame: name, frame_bytes: frame.length, repeat, rounds }, name === "ipv4/tcp" ? unavailable : []);
      if (name === "ipv4/tcp") costs(s, "cost-over-hook/ipv4-tcp", "ns/packet over the bare hook, IPv4/TCP, one warm flow", runs, samples, baselineOf, unavailable, { frame: name, frame_bytes: frame.length, repeat, rounds });
    }

    const many = flowFrames(flows);
    console.log(`\n2. ${flows} distinct IPv4/TCP flows, one run per frame in turn, median of ${rounds} rounds (ns per packet)`);
    const m = manyFlows([...xdp.filter((c) => c.name !== NAMES.count), ...tcOnly], many, rounds);
    const inputs = { flows, rounds, frame_bytes: many[0]!.length };
    for (const [kind, samples] of [["existing", m.existing], ["insert", m.insert]] as const) {
      const what = kind === "existing" ? "each flow's entry found after the other flows' (cold)" : "each flow's first packet (an insert)";
      const runs = m.contenders;
      report(s, `ns-per-packet/many-flows-${kind}`, `ns/packet, ${flows} flows, ${what}`, runs, samples,
        `BPF_PROG_TEST_RUN with repeat 1 on ${flows} distinct frames in turn`, inputs, unavailable);
      costs(s, `cost-over-hook/many-flows-${kind}`, `ns/packet over the bare hook, ${flows} flows, ${what}`, runs, samples, baselineOf, unavailable, inputs);
    }

    const info = progInfo(by(NAMES.audit)!.progFd);
    const p = `program: ${info.xlatedBytes / 8} xlated instructions (${info.xlatedBytes} bytes), ${info.jitedBytes} jited bytes, verifier processed ${info.verifiedInsns} instructions`;
    console.log(`\n${p}`);
    s.notes.push(p);
  } finally {
    set.close();
  }

  for (const n of [loadFlows, PREALLOC_MAX_FLOWS]) {
    console.log(`\n3. loading xdp_audit with a ${n.toLocaleString()}-flow map (open, create maps, verify, configure), median of ${rounds}`);
    const lt = loadTimes(`${dist}/xdp_audit.o`, `${pinRoot}-load`, n, rounds);
    s.results.push(result({
      id: `load/${n}-flows`, title: `load with a ${n.toLocaleString()}-flow map`, better: "lower",
      command: `XdpAuditor.load({ maxFlows: ${n}, flowMapFlags }) + configure, fresh pins each time, alternating`,
      inputs: { max_flows: n, rounds, ato_default: n > PREALLOC_MAX_FLOWS ? "not preallocated" : "preallocated" },
      measurements: lt.map((l) => measurement(l.name, "ms", l.samples)),
    }));
    for (const l of lt) console.log(`  ${l.name.padEnd(44)} ${pad(median(l.samples).toFixed(0), 6)} ms  (${l.samples.map((x) => x.toFixed(0)).join(", ")})`);
  }
  s.notes.push(`ato preallocates flow maps of up to ${PREALLOC_MAX_FLOWS.toLocaleString()} entries and not larger ones (src/kernel/loader.ts)`);

  s.notes.push(
    "XDP_PASS only (bpf/bench_pass.c) returns XDP_PASS; one counter (bpf/bench_count.c) adds one to a per-CPU array; the floor (bpf/bench_floor.c) puts Ethernet/IPv4/ports into a 48-byte key, reads bpf_ktime_get_ns and updates one per-CPU hash: what any XDP flow meter pays at least",
    "xdp_audit runs with the settings' defaults (spike guard and timing audit off); the timing row turns both on with thresholds that never fire",
    "TC programs see an sk_buff and are compared with a bare TC classifier (bpf/bench_tc_pass.c), XDP programs with XDP_PASS",
  );
  return s.finish();
}

/** One result: measurements in the order given, xdp_audit first. */
function report(s: ReturnType<typeof section>, rid: string, title: string, runs: Contender[], samples: Map<string, number[]>,
  command: string, inputs: Record<string, string | number>, unavailable: { contender: string; reason: string }[]) {
  const ms = runs.map((c) => measurement(c.name, "ns/packet", samples.get(c.name)!));
  console.log(`${title}:`);
  for (const x of ms) console.log(`  ${x.contender.padEnd(46)} ${pad(x.median, 6)}`);
  s.results.push(result({ id: rid, title, better: "lower", command, inputs, measurements: ms, unavailable }));
}

/** What each program adds to its bare hook, round by round (its run minus the hook's in the same round). */
function costs(s: ReturnType<typeof section>, rid: string, title: string, runs: Contender[], samples: Map<string, number[]>,
  baselineOf: (c: Contender) => Contender, unavailable: { contender: string; reason: string }[], inputs: Record<string, unknown>) {
  const subjects = runs.filter((c) => c.name !== NAMES.pass && c.name !== NAMES.tcPass && c.name !== NAMES.count);
  const ms = subjects.map((c) => {
    const base = samples.get(baselineOf(c).name)!;
    return measurement(`${c.name} − ${baselineOf(c).name}`, "ns/packet", samples.get(c.name)!.map((x, i) => Math.round((x - base[i]!) * 10) / 10));
  });
  console.log(`${title}:`);
  for (const x of ms) console.log(`  ${x.contender.padEnd(62)} ${pad(`+${x.median}`, 6)}`);
  s.results.push(result({ id: rid, title, better: "lower", command: "per round: the program's ns/packet minus its bare hook's in the same round", inputs, measurements: ms, unavailable }));
}

await runSection("kernel", TITLE, main);
