/**
 * The programs bench-kernel runs side by side: xdp_audit in its configurations, the XDP
 * baselines (XDP_PASS, one counter, the floor flow meter) and the TC pair (a bare classifier,
 * netobserv-ebpf-agent's flow program). Each is loaded once; `flowMap` is the map that gains
 * an entry per flow, emptied between rounds of the many-flow case.
 */
import { mkdirSync, rmSync } from "node:fs";
import { BpfObject, mapDelete, mapInfo, mapNextKey } from "../../ffi/libbpf.ts";
import { DEFAULT_CONFIG, XdpAuditor } from "../../src/kernel/index.ts";
import { loadNetobserv, NETOBSERV_FLOW_MAP } from "./netobserv.ts";

export const BPF_F_NO_PREALLOC = 1;

export interface Contender {
  name: string;
  hook: "xdp" | "tc";
  progFd: number;
  flowMap?: number;
}

export interface Contenders {
  list: Contender[];
  /** Contenders that could not be loaded, and why. */
  unavailable: { contender: string; reason: string }[];
  notes: string[];
  close(): void;
}

export const NAMES = {
  audit: "xdp_audit",
  auditTiming: "xdp_audit, timing audit + spike guard on",
  auditAltPrealloc: "xdp_audit, flow map preallocated",
  auditNoPrealloc: "xdp_audit, flow map not preallocated",
  before: "xdp_audit (--compare object)",
  pass: "XDP_PASS only",
  count: "one counter",
  floor: "floor (5-tuple, per-CPU hash, ktime_get_ns)",
  tcPass: "bare TC",
  netobserv: "netobserv-ebpf-agent flows.c (TC)",
} as const;

export interface LoadChoice { dist: string; pinRoot: string; compare?: string; netobserv: boolean }

export function loadContenders(c: LoadChoice): Contenders {
  const list: Contender[] = [];
  const unavailable: Contenders["unavailable"] = [];
  const notes: string[] = [];
  const closers: (() => void)[] = [];
  mkdirSync(c.pinRoot, { recursive: true, mode: 0o700 });
  const auditor = (name: string, dir: string, opts: { object?: string; timing?: boolean; flags?: number } = {}) => {
    const a = XdpAuditor.load({ objectPath: opts.object ?? `${c.dist}/xdp_audit.o`, pinDir: `${c.pinRoot}/${dir}`, flowMapFlags: opts.flags });
    closers.push(() => a.close());
    // Thresholds that never fire: the spike guard and the timing audit do all their work, no event.
    a.configure(opts.timing ? { ...DEFAULT_CONFIG, spikeThreshold: 1 << 30, timingEnabled: true } : DEFAULT_CONFIG);
    list.push({ name, hook: "xdp", progFd: a.progFd, flowMap: a.mapFd("flows") });
  };
  const plain = (name: string, file: string, prog: string, hook: Contender["hook"], map?: string) => {
    const o = BpfObject.open(`${c.dist}/${file}`);
    closers.push(() => o.close());
    o.load();
    list.push({ name, hook, progFd: o.programFd(prog), flowMap: map ? o.mapFd(map) : undefined });
  };
  try {
    auditor(NAMES.audit, "audit");
    auditor(NAMES.auditTiming, "timing", { timing: true });
    auditor(NAMES.auditAltPrealloc, "prealloc", { flags: 0 });
    auditor(NAMES.auditNoPrealloc, "noprealloc", { flags: BPF_F_NO_PREALLOC });
    if (c.compare) auditor(NAMES.before, "before", { object: c.compare });
    plain(NAMES.pass, "bench_pass.o", "bench_pass", "xdp");
    plain(NAMES.count, "bench_count.o", "bench_count", "xdp");
    plain(NAMES.floor, "bench_floor.o", "bench_floor", "xdp", "floor_map");
    plain(NAMES.tcPass, "bench_tc_pass.o", "bench_tc_pass", "tc");
    if (c.netobserv) {
      try {
        const n = loadNetobserv(`${c.pinRoot}/netobserv`);
        closers.push(() => { n.obj.close(); rmSync(n.dir, { recursive: true, force: true }); });
        list.push({ name: `${NAMES.netobserv}`, hook: "tc", progFd: n.progFd, flowMap: n.obj.mapFd(NETOBSERV_FLOW_MAP) });
        notes.push(`netobserv-ebpf-agent ${n.commit}, bpf/flows.c built with ${n.clang}, maps sized as its agent's defaults`);
      } catch (e) {
        unavailable.push({ contender: NAMES.netobserv, reason: (e as Error).message });
      }
    }
  } catch (e) {
    for (const close of closers.reverse()) close();
    throw e;
  }
  return {
    list,
    unavailable,
    notes,
    close() {
      for (const close of closers.reverse()) close();
      rmSync(c.pinRoot, { recursive: true, force: true });
    },
  };
}

/** Removes every entry: keys first collected, then deleted (a walk from the start each time would be quadratic). */
export function emptyMap(fd: number): void {
  const size = mapInfo(fd).keySize;
  const keys: Uint8Array[] = [];
  let prev: Uint8Array | null = null;
  for (;;) {
    const next = new Uint8Array(size);
    if (!mapNextKey(fd, prev, next)) break;
    keys.push(next);
    prev = next;
  }
  for (const k of keys) mapDelete(fd, k);
}
