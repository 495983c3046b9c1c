/**
 * netobserv-ebpf-agent's flow program (bpf/flows.c, TC ingress), built at bench time from its
 * published source into a temporary directory; none of its code is kept in this repository.
 *
 * Where the source comes from: ATO_NETOBSERV_SRC, a checkout of
 * github.com/netobserv/netobserv-ebpf-agent or its git directory (then HEAD's bpf/ is used).
 * Its maps are sized as its agent sizes them with default settings (pkg/tracer/tracer.go):
 * aggregated_flows at CACHE_MAX_FLOWS (5000), the maps of trackers that are off at 1, unused ring
 * buffers at a page. Its load-time constants stay at the source's zeros, which are the agent's
 * defaults: sampling 0 (every packet), every optional tracker off.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BpfObject } from "../../ffi/libbpf.ts";

export const NETOBSERV_PROGRAM = "tc_ingress_flow_parse";
export const NETOBSERV_FLOW_MAP = "aggregated_flows";
const CACHE_MAX_FLOWS = 5000;
const PAGE = 4096;
/** Its sections are named "classifier/tc_ingress", which cilium/ebpf types and libbpf 1.x does not. */
const BPF_PROG_TYPE_SCHED_CLS = 3;
/** The agent's sizes with its defaults; maps not named keep the source's size. */
const AGENT_SIZES: Record<string, number> = {
  aggregated_flows: CACHE_MAX_FLOWS,
  aggregated_flows_dns: 1, aggregated_flows_network_events: 1, aggregated_flows_pkt_drop: 1,
  aggregated_flows_xlat: 1, additional_flow_metrics: 1,
  direct_flows: PAGE, ssl_data_event_map: PAGE, packet_record: PAGE,
  dns_flows: 1, filter_map: 1, peer_filter_map: 1, ipsec_ingress_map: 1, ipsec_egress_map: 1,
};

export interface Netobserv { obj: BpfObject; progFd: number; commit: string; clang: string; dir: string }

function run(argv: string[], cwd?: string): { ok: boolean; out: string } {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** The first clang of version 15 or later on PATH. */
function findClang(): string {
  for (const c of ["clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang"]) {
    const v = run([c, "--version"]);
    const major = Number(/clang version (\d+)/.exec(v.out)?.[1] ?? 0);
    if (v.ok && major >= 15) return c;
  }
  const have = /clang version [\d.]+/.exec(run(["clang", "--version"]).out)?.[0] ?? "no clang";
  throw new Error(`netobserv's bpf/flows.c needs clang >= 15 and this host has ${have} (apt-get install clang-19)`);
}

/** Copies bpf/ of the source into dir; returns the commit it came from. */
function exportSource(src: string, dir: string): string {
  if (existsSync(`${src}/bpf/flows.c`)) {
    if (!run(["cp", "-r", `${src}/bpf`, dir]).ok) throw new Error(`cannot copy ${src}/bpf`);
    return run(["git", "-C", src, "rev-parse", "--short", "HEAD"]).out || "unknown";
  }
  const tar = `${dir}/bpf.tar`;
  const a = run(["git", `--git-dir=${src}`, "archive", "-o", tar, "HEAD", "bpf"]);
  if (!a.ok) throw new Error(`${src} is neither a checkout with bpf/flows.c nor a git directory of one: ${a.out}`);
  if (!run(["tar", "-xf", tar, "-C", dir]).ok) throw new Error(`cannot unpack ${tar}`);
  return run(["git", `--git-dir=${src}`, "rev-parse", "--short", "HEAD"]).out;
}

/** Builds and loads the TC ingress program; throws with why it cannot. */
export function loadNetobserv(pinRoot: string): Netobserv {
  const src = process.env.ATO_NETOBSERV_SRC;
  if (!src) throw new Error("ATO_NETOBSERV_SRC is not set (a checkout or git directory of github.com/netobserv/netobserv-ebpf-agent)");
  const clang = findClang();
  const dir = mkdtempSync(`${tmpdir()}/ato-bench-netobserv-`);
  try {
    const commit = exportSource(src, dir);
    const c = run([clang, "-O2", "-g", "-Wall", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I", "headers", "-I", ".", "-c", "flows.c", "-o", `${dir}/flows.o`], `${dir}/bpf`);
    if (!c.ok) throw new Error(`building netobserv's bpf/flows.c with ${clang} failed: ${c.out.split("\n").slice(-3).join(" ")}`);
    const obj = BpfObject.open(`${dir}/flows.o`, { pinRoot, only: [NETOBSERV_PROGRAM], programTypes: { [NETOBSERV_PROGRAM]: BPF_PROG_TYPE_SCHED_CLS }, maxEntries: AGENT_SIZES });
    try {
      obj.load();
      return { obj, progFd: obj.programFd(NETOBSERV_PROGRAM), commit, clang, dir };
    } catch (e) {
      obj.close();
      throw e;
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
