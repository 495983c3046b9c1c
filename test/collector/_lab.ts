/** The collector tests' lab: the loaded XDP object's real flow map, a SoftHSM-signed log, per-CPU counts written from user space. */
import { afterAll, afterEach, beforeAll } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { mapUpdate, possibleCpus } from "../../ffi/libbpf.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { Collector, type ExportedFlow, type ReadHook } from "../../src/collector/index.ts";
import { encodeKey, FLOW_VALUE, FlowMapReader, percpuStride } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";
import type { EvidenceLog, EvidenceLogOptions } from "../../src/log/index.ts";
import { loadForTest } from "../support/bpf.ts";
import { mountTmpfs as mountOn } from "../support/disk.ts";
import { closeLogs, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";

export const CPUS = possibleCpus();
const STRIDE = percpuStride(FLOW_VALUE.size);
export const HOUR_NS = 3600n * 1_000_000_000n;
/** When the test's flows began, as the kernel keeps it: one first_seen for an entry's whole life. */
export const BEGAN = monotonicNs() - 60_000_000_000n;

export let h: Hsm;
export let bpf: ReturnType<typeof loadForTest>;
let masker: Masker;
const cleanups: (() => void)[] = [];

/** Registers the suite's hooks: one loaded object, HSM and masker; each test's logs, mounts and flows cleaned after it. */
export function useCollectorLab(): void {
  beforeAll(async () => {
    h = await hsm("ed25519");
    bpf = loadForTest({}, 65_536);
    masker = Masker.open({});
  });
  afterAll(() => {
    masker?.close();
    bpf?.cleanup();
    h?.cleanup();
  });
  afterEach(() => {
    closeLogs();
    for (const c of cleanups.splice(0).reverse()) c();
    bpf.reset();
  });
}

export const fd = () => bpf.auditor.mapFd("flows");

export function key(i: number, proto = 6) {
  const src = new Uint8Array(16), dst = new Uint8Array(16);
  src.set([198, 18, (i >> 8) & 255, i & 255]);
  dst.set([198, 19, (i >> 16) & 255, 1]);
  return encodeKey({ family: 4, proto, src, dst, sport: 1024 + (i % 60_000), dport: 443, vlan: 0, vlanInner: 0, ifindex: 1 });
}

/** Writes a flow's per-CPU counters: perCpu[c] packets of 100 bytes on CPU c, first and last seen as given. */
export function put(i: number, perCpu: number[], lastSeen = monotonicNs(), firstSeen = BEGAN) {
  const value = new Uint8Array(STRIDE * CPUS);
  const v = new DataView(value.buffer);
  perCpu.forEach((p, c) => {
    if (c >= CPUS || p === 0) return;
    v.setBigUint64(c * STRIDE + FLOW_VALUE.packets, BigInt(p), true);
    v.setBigUint64(c * STRIDE + FLOW_VALUE.bytes, BigInt(p * 100), true);
    v.setBigUint64(c * STRIDE + FLOW_VALUE.firstSeenNs, firstSeen, true);
    v.setBigUint64(c * STRIDE + FLOW_VALUE.lastSeenNs, lastSeen, true);
  });
  mapUpdate(fd(), key(i), value);
}

/** Directories that are tmpfs mounts: removed by their unmount's cleanup, after it. */
const mounts = new Set<string>();

/** A collector in every-interval mode (active timeout 0) unless an active timeout is given. */
export function setup(dir = tempDir("ato-collector-"), idleTimeoutNs = HOUR_NS, logOptions: EvidenceLogOptions = {}, activeTimeoutNs = 0n, onExport?: (f: ExportedFlow[]) => void, onRead?: ReadHook) {
  if (!mounts.has(dir)) cleanups.push(() => removeDir(dir));
  const log = openLog(dir, h, { checkpointEvery: 1000, ...logOptions });
  const collector = new Collector({ reader: new FlowMapReader(fd(), 256), masker, log, idleTimeoutNs, activeTimeoutNs, ifaceName: () => "lo", onExport, onRead });
  return { dir, log, collector };
}

/** Every line of every segment in the directory, parsed, in seq order. */
export function lines(dir: string): Record<string, any>[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".log")).sort(); // rotated segments by number, then the active one
  return files.flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)));
}

export function records(dir: string, kind = "flow"): Record<string, any>[] {
  return lines(dir).filter((r) => r.kind === kind).map((r) => r.data);
}

/** A tmpfs on a fresh directory, unmounted (before the directory is removed) after the test. */
export function mountTmpfs(prefix: string, options: string): string {
  const dir = tempDir(prefix);
  mountOn(dir, options, "ato-test-collector");
  mounts.add(dir);
  cleanups.push(() => {
    Bun.spawnSync(["umount", "-l", dir]);
    mounts.delete(dir);
    removeDir(dir);
  });
  return dir;
}

/** A field summed per masked source (the test's flows are on distinct /24s). */
export function sumByFlow(recs: Record<string, any>[], field = "packets") {
  const out = new Map<string, number>();
  for (const r of recs) out.set(r.src, (out.get(r.src) ?? 0) + r[field]);
  return out;
}

