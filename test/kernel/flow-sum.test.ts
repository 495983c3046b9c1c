/**
 * The flow map's packet sum walked in the kernel (src/kernel/flow-sum.ts, bpf/flow_sum.c) equals the sum of the
 * batch-lookup read, on the real program's map filled by real UDP through the lab's veth, sent from each CPU
 * (taskset: a veth delivers on the sender's CPU, so the flows have counts on several CPUs), after a flow deleted and
 * one overwritten from outside with bpftool, and on an empty map. A map the kernel refuses the program for is an
 * answer with the verifier's reason, not a crash. [kernel, root]
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { closeFd, objGet, objPin, possibleCpus } from "../../ffi/libbpf.ts";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { DEFAULT_CONFIG, FLOW_VALUE, FlowMapReader, FlowSum, percpuStride, readCounters, XdpAuditor } from "../../src/kernel/index.ts";
import { OBJECT, uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";

const CPUS = possibleCpus();
const STRIDE = percpuStride(FLOW_VALUE.size);
let lab: Lab;
let pinDir: string;
let auditor: XdpAuditor;
let reader: FlowMapReader;
let sum: FlowSum;

/** bpftool inside the server namespace (nsenter --net keeps the host's bpffs). */
function bpftool(args: string[], allowFail = false): string {
  const r = Bun.spawnSync(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bpftool", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0 && !allowFail) throw new Error(`bpftool ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

beforeAll(() => {
  lab = createLab();
  pinDir = uniquePinDir("flowsum");
  auditor = XdpAuditor.load({ objectPath: OBJECT, pinDir });
  auditor.configure(DEFAULT_CONFIG);
  objPin(auditor.progFd, `${pinDir}/prog`); // for bpftool's attach inside the lab's namespace
  bpftool(["net", "attach", "xdpdrv", "pinned", `${pinDir}/prog`, "dev", lab.server.dev]);
  reader = new FlowMapReader(auditor.mapFd("flows"), 64);
  const s = FlowSum.open(auditor.mapFd("flows"));
  if (!(s instanceof FlowSum)) throw new Error(`the flow-sum program did not load on this kernel: ${s.refused}`);
  sum = s;
});

afterAll(() => {
  sum?.close();
  if (lab) bpftool(["net", "detach", "xdpdrv", "dev", lab.server.dev], true);
  auditor?.close();
  lab?.destroy();
  if (pinDir) rmSync(pinDir, { recursive: true, force: true });
});

/** The batch-lookup read's sum, as the conservation check made it before (per-CPU packets added in JavaScript). */
function batchSum(): { flows: number; packets: bigint } {
  let flows = 0, packets = 0n;
  for (const b of reader.batches()) {
    for (let i = 0; i < b.n; i++) packets += BigInt(b.packets(i));
    flows += b.n;
  }
  return { flows, packets };
}

/** How many flows have packets on each CPU (the raw per-CPU values of the batch read). */
function flowsPerCpu(): number[] {
  const per = new Array<number>(CPUS).fill(0);
  for (const b of reader.batches()) {
    const v = new DataView(b.values.buffer);
    for (let i = 0; i < b.n; i++) {
      for (let c = 0; c < CPUS; c++) if (v.getBigUint64(i * b.valueBytes + c * STRIDE + FLOW_VALUE.packets, true) > 0n) per[c]!++;
    }
  }
  return per;
}

/**
 * The kernel's sum and the batch read's, taken while the map stood still: a kernel sum before and after the batch
 * read that agree (the lab's veth can carry a stray IPv6 neighbour probe at any time), else read again.
 */
function bothSums(): { kernel: ReturnType<FlowSum["sum"]>; batch: ReturnType<typeof batchSum>; before: bigint; after: bigint } {
  for (let i = 0; ; i++) {
    const before = flowed(), k1 = sum.sum(), b = batchSum(), k2 = sum.sum(), after = flowed();
    if ((k1.packets === k2.packets && k1.flows === k2.flows) || i === 4) return { kernel: k1, batch: b, before, after };
  }
}

const flowed = () => { const c = readCounters(auditor.mapFd("counters")); return c.ipv4 + c.ipv6 - c.map_full; };

describe("[kernel] the flow map's packet sum walked in the kernel", () => {
  test("an empty map: no flows, no packets, as the batch read says; the walk's buckets are its capacity rounded up to a power of two", () => {
    // a map of its own, attached nowhere (the lab's veth may already carry an IPv6 solicitation into the other)
    const dir = uniquePinDir("flowsum-empty");
    const empty = XdpAuditor.load({ objectPath: OBJECT, pinDir: dir, maxFlows: 3_000 });
    const s = FlowSum.open(empty.mapFd("flows"));
    try {
      expect(s).toBeInstanceOf(FlowSum);
      expect(new FlowMapReader(empty.mapFd("flows")).readAll()).toEqual([]);
      expect((s as FlowSum).sum()).toEqual({ flows: 0, packets: 0n, missing: 0 });
      expect((s as FlowSum).buckets).toBe(4_096); // the kernel's buckets: what the check weighs the walk by
      expect(sum.buckets).toBe(65_536);
    } finally {
      if (s instanceof FlowSum) s.close();
      empty.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("real traffic from every CPU: the kernel's sum equals the batch read's, and the program's own counters", () => {
    for (let cpu = 0; cpu < CPUS; cpu++) {
      for (let port = 0; port < 4; port++) sendUdp(lab, lab.server.v4, 9, 20 + cpu * 7 + port, 16, [0], 40_100 + port, cpu);
    }
    sendUdp(lab, lab.server.v6, 9, 11, 16, [0], 40_200, CPUS - 1);
    const perCpu = flowsPerCpu();
    expect(perCpu.filter((n) => n > 0).length).toBe(CPUS); // counts really are spread over the CPUs
    const { kernel: k, batch: b, before, after } = bothSums();
    expect(k).toEqual({ ...b, missing: 0 });
    expect(b.flows).toBeGreaterThanOrEqual(5);
    // nothing removed: the map holds every packet that went into a flow, as the program's counters say
    expect(k.packets).toBeGreaterThanOrEqual(before);
    expect(k.packets).toBeLessThanOrEqual(after);
  });

  test("after a flow deleted and another overwritten with bpftool, the kernel's sum is still the batch read's", () => {
    // The lab's veth can carry a stray IPv6 packet at any time (a new flow): a try during which the program counted
    // a packet is made again, with the next two flows.
    for (let tries = 1; ; tries++) {
      const flowedBefore = flowed(), before = sum.sum();
      const dump = JSON.parse(bpftool(["-j", "map", "dump", "pinned", `${pinDir}/flow_map`])) as { key: string[]; values: { cpu: number; value: string[] }[] }[];
      expect(dump.length).toBeGreaterThanOrEqual(2);
      const [victim, target] = dump as [typeof dump[0], typeof dump[0]];
      const packetsOf = (e: typeof victim) => e.values.reduce((s, v) => s + Buffer.from(v.value.slice(0, 8).map((x) => parseInt(x, 16))).readBigUInt64LE(), 0n);
      bpftool(["map", "delete", "pinned", `${pinDir}/flow_map`, "key", ...victim.key]);
      const value = [...target.values[0]!.value];
      value.splice(0, 8, "0xe8", "0x03", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"); // packets = 1000 on every CPU
      bpftool(["map", "update", "pinned", `${pinDir}/flow_map`, "key", ...target.key, "value", ...value]);
      const { kernel: k, batch, after: flowedAfter } = bothSums();
      expect(k).toEqual({ ...batch, missing: 0 });
      if (flowedAfter !== flowedBefore && tries < 4) continue;
      expect(k.flows).toBe(before.flows - 1);
      expect(k.packets).toBe(before.packets - packetsOf(victim) - packetsOf(target) + 1000n * BigInt(CPUS));
      break;
    }
  });

  test("a map the program cannot read (a plain hash, no per-CPU values) is refused by the verifier, with its reason", () => {
    const pin = `${pinDir}/plain_hash`;
    bpftool(["map", "create", pin, "type", "hash", "key", "48", "value", String(FLOW_VALUE.size), "entries", "16", "name", "ato_test_plain"]);
    const mapFd = objGet(pin);
    try {
      const r = FlowSum.open(mapFd);
      expect(r).not.toBeInstanceOf(FlowSum);
      expect((r as { refused: string }).refused).toMatch(/verifier rejected/);
    } finally {
      closeFd(mapFd);
      rmSync(pin, { force: true });
    }
  });
});
