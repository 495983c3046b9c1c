/**
 * The conservation check takes the collector's own read of the map: after a cycle that read it, the check reads
 * nothing more and uses that read's packet sum, bracketed by the kernel's counters; after a quiet cycle (skipped,
 * nothing read) it reads the map itself, so a tampering is found within one interval either way. That own read is
 * the kernel's walk of the map (FlowSum) where the program loads, batch lookups where the kernel refuses it (a real
 * refusal: the verifier's, for a map the program cannot take) or ATO_CONSERVATION_SUM=batch; `lastSum` and the
 * finding's map_read_by say which read was used; a sparse map (fewer flows than one in KERNEL_WALK_BUCKETS_PER_FLOW
 * of the walk's buckets) is read with batch lookups, which cost less there, and a tampering is found either way. Flows the
 * collector removes as idle after its read are no finding. Frames go through the real XDP program
 * (BPF_PROG_TEST_RUN); tamperings are written into the map from user space, as bpftool would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { closeFd, mapDelete, objGet } from "../../ffi/libbpf.ts";
import { Conservation, KERNEL_WALK_BUCKETS_PER_FLOW } from "../../src/attest/conservation.ts";
import { openConservationSum, type ConservationSumWay } from "../../src/attest/conservation-sum.ts";
import { Collector } from "../../src/collector/index.ts";
import { encodeKey, FLOW_VALUE, FlowMapReader, FlowSum, readCounters } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";
import { openLog, tempDir } from "../log/_helpers.ts";
import { bpf, CPUS, fd, h, HOUR_NS, key, put, useCollectorLab } from "../collector/_lab.ts";

useCollectorLab();
const SRC = "198.18.31.1", DST = "198.18.31.2";
const frame = (sport: number) => v4Frame({ src: SRC, dst: DST, proto: IPPROTO.TCP }, tcp(sport, 443, 0x10)).frame;
const v4 = (a: string) => { const b = new Uint8Array(16); b.set(a.split(".").map(Number)); return b; };
/** The map key the program made for `frame(sport)` (the test run's ingress interface is lo, ifindex 1). */
const keyOf = (sport: number) => encodeKey({ family: 4, proto: IPPROTO.TCP, src: v4(SRC), dst: v4(DST), sport, dport: 443, vlan: 0, vlanInner: 0, ifindex: 1 });

/** A plain hash map of the flow map's sizes, made with bpftool: the verifier refuses the flow-sum program for it. */
let plainPin: string;
let plainFd: number;
beforeAll(() => {
  plainPin = `/sys/fs/bpf/ato-test-plain-${process.pid}`;
  const r = Bun.spawnSync(["bpftool", "map", "create", plainPin, "type", "hash", "key", "48", "value", String(FLOW_VALUE.size), "entries", "16", "name", "ato_test_plain"], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bpftool map create: ${r.stderr}`);
  plainFd = objGet(plainPin);
});
afterAll(() => {
  if (plainFd) closeFd(plainFd);
  rmSync(plainPin, { force: true });
});

/** How the check's own read is made: the kernel walk, batch by setting, or batch because the kernel refused the program. */
type Way = ConservationSumWay | "refused";

/**
 * `walkMinFlows`: 0 unless given, so the walk reads the lab's map of a few flows in 65,536 entries (the agent
 * reads so sparse a map with batch lookups); "agent" for the agent's rule.
 */
function watched(idleTimeoutNs = HOUR_NS, way: Way = "kernel", kernelWalkMaxFlows?: number, onWalkFailed?: (e: Error) => void, walkMinFlows: number | "agent" = 0) {
  const kernelWalkMinFlows = walkMinFlows === "agent" ? undefined : walkMinFlows;
  const said: string[] = [];
  const kernelSum = openConservationSum(way === "refused" ? plainFd : fd(), way === "refused" ? "kernel" : way, (m) => said.push(m));
  if (way === "kernel" && !(kernelSum instanceof FlowSum)) throw new Error(`the flow-sum program did not load: ${said.join("; ")}`);
  const masker = Masker.open({});
  const log = openLog(tempDir("ato-attest-conservation-"), h, { checkpointEvery: 1000 });
  const reader = new FlowMapReader(fd(), 256);
  const counters = () => readCounters(bpf.auditor.mapFd("counters"));
  // watched: every cycle in which a frame came reads the map (as while /metrics is scraped), else only when a flow is due.
  const collector = new Collector({ reader, masker, log, idleTimeoutNs, activeTimeoutNs: 60n * 1_000_000_000n, ifaceName: () => "lo", packetsSeen: () => counters().packets, watched: () => true });
  collector.start();
  const check = Conservation.start({ reader, counters, kernelSum, kernelWalkMaxFlows, kernelWalkMinFlows, onWalkFailed });
  collector.mapRead = check.readHook;
  return { collector, check, said, kernelSum, close: () => { kernelSum?.close(); log.close(); masker.close(); } };
}

describe("the conservation check on the collector's read", () => {
  test("after a cycle that read the map it uses that read; after a quiet cycle it reads the map itself", async () => {
    const { collector, check, close } = watched();
    bpf.run(frame(41001), 5);
    bpf.run(frame(41002), 3);
    expect(await collector.cycle()).toMatchObject({ flows: 2 });
    expect(check.check()).toBeNull();
    expect(check.lastFromCollector).toBe(true);
    await collector.cycle(); // quiet: no frame since, the map is not read
    expect(check.check()).toBeNull();
    expect(check.lastFromCollector).toBe(false);
    expect(check.lastSum).toBe("kernel");
    close();
  });

  // The agent's stop sets its JIT policy by this count (src/cli/jit.ts): the newest read's, the collector's before the check takes it.
  test("knownFlows is the start's count, then the collector's read as soon as it is made, then the check's", async () => {
    const { collector, check, close } = watched();
    const atStart = check.knownFlows!;
    expect(atStart).toBeGreaterThanOrEqual(0);
    bpf.run(frame(41031), 1);
    bpf.run(frame(41032), 1);
    await collector.cycle();
    expect(check.knownFlows).toBe(atStart + 2); // the collector's read, not yet checked
    expect(check.check()).toBeNull();
    expect(check.knownFlows).toBe(atStart + 2);
    close();
  });

  test("a flow deleted while the host is quiet is counts_missing at the next check, read by the check itself", async () => {
    const { collector, check, close } = watched();
    bpf.run(frame(41003), 4);
    bpf.run(frame(41004), 2);
    await collector.cycle();
    expect(check.check()).toBeNull();
    expect(mapDelete(fd(), keyOf(41003))).toBe(true);
    await collector.cycle(); // quiet: skipped
    const f = check.check();
    expect(check.lastSum).toBe("kernel");
    expect(f).toMatchObject({ tamper: "counts_missing", subject: "flow_map", found: { missing_at_least: "4", map_read_by: "kernel" } });
    expect(check.check()).toBeNull(); // re-based: one tampering, one finding
    close();
  });

  test("a flow invented while traffic flows is counts_added, found in the collector's read of that cycle", async () => {
    const { collector, check, close } = watched();
    bpf.run(frame(41005), 3);
    await collector.cycle();
    expect(check.check()).toBeNull();
    put(7, [9]); // never seen by the program's counters
    bpf.run(frame(41005), 1); // traffic: the next cycle reads the map
    expect(await collector.cycle()).toMatchObject({ flows: 2 });
    const f = check.check();
    expect(check.lastSum).toBe("collector");
    expect(f).toMatchObject({ tamper: "counts_added", found: { added_at_least: "9", map_read_by: "collector" } });
    close();
  });

  test("flows the collector removes as idle after its read are no finding, in that cycle or the next", async () => {
    const { collector, check, close } = watched(300_000_000n); // idle after 0.3 s
    bpf.run(frame(41006), 6);
    await collector.cycle();
    expect(check.check()).toBeNull();
    await Bun.sleep(400);
    bpf.run(frame(41007), 2); // another flow: the map is read, the first flow is taken out after the read
    expect(await collector.cycle()).toMatchObject({ removed: 1 });
    expect(check.check()).toBeNull();
    expect(check.lastFromCollector).toBe(true);
    bpf.run(frame(41007), 1);
    await collector.cycle();
    expect(check.check()).toBeNull();
    await collector.cycle(); // quiet: the check reads the map alone, the removed flow still accounted
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("kernel");
    close();
  });
});

describe("the conservation check's own read without the kernel walk", () => {
  for (const way of ["refused", "batch"] as const) {
    test(`${way === "refused" ? "the kernel refusing the program" : "ATO_CONSERVATION_SUM=batch"}: said once, batch lookups read, a flow invented on a quiet host is still counts_added`, async () => {
      const { collector, check, said, close } = watched(HOUR_NS, way);
      expect(said).toEqual([way === "refused"
        ? expect.stringMatching(/did not load its flow-sum program .* batch lookups/)
        : "conservation check: sums the flow map with batch lookups (ATO_CONSERVATION_SUM=batch)"]);
      bpf.run(frame(41008), 5);
      await collector.cycle();
      expect(check.check()).toBeNull();
      put(8, [4, 3]); // never seen by the program's counters
      await collector.cycle(); // quiet: skipped, the check reads the map itself
      const f = check.check();
      expect(check.lastSum).toBe("batch");
      expect(f).toMatchObject({ tamper: "counts_added", found: { map_read_by: "batch", added_at_least: String(CPUS > 1 ? 7 : 4) } });
      close();
    });
  }
});

describe("the kernel walk and the size of the map", () => {
  test("a check after one that found more flows than the walk's limit reads with batch lookups; back to the walk once the map is small again", async () => {
    const { collector, check, close } = watched(300_000_000n, "kernel", 2); // idle after 0.3 s; walk up to 2 flows
    bpf.run(frame(41011), 2);
    bpf.run(frame(41012), 2);
    bpf.run(frame(41013), 2);
    await collector.cycle();
    expect(check.check()).toBeNull(); // the collector's read: 3 flows
    await collector.cycle(); // quiet: the check's own read, after a read of 3 flows
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("batch");
    await Bun.sleep(400);
    bpf.run(frame(41014), 1); // the three go idle and are taken out after this read
    expect(await collector.cycle()).toMatchObject({ removed: 3 });
    expect(check.check()).toBeNull();
    await collector.cycle(); // quiet: the last read found 4 flows, still batch
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("batch");
    await collector.cycle(); // that batch read found 1 flow: the walk again
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("kernel");
    close();
  });

  test("a sparse map is read with batch lookups and a fuller one with the walk; a flow deleted from outside is found by either", async () => {
    const { collector, check, kernelSum, close } = watched(HOUR_NS, "kernel", undefined, undefined, "agent");
    const dense = Math.ceil(kernelSum!.buckets / KERNEL_WALK_BUCKETS_PER_FLOW);
    expect(kernelSum!.buckets).toBe(65_536);
    bpf.run(frame(41041), 4);
    bpf.run(frame(41042), 1);
    await collector.cycle();
    expect(check.check()).toBeNull(); // the collector's read: 2 flows
    expect(mapDelete(fd(), keyOf(41041))).toBe(true); // the bpf syscall, as bpftool map delete makes it
    await collector.cycle(); // quiet: the check's own read
    expect(check.check()).toMatchObject({ tamper: "counts_missing", found: { missing_at_least: "4", map_read_by: "batch" } });
    for (let i = 0; i < dense; i++) put(i, [1]); // never seen by the program's counters: one finding, then the base
    await collector.cycle();
    expect(check.check()).toMatchObject({ tamper: "counts_added", found: { added_at_least: String(dense), flows: dense + 1, map_read_by: "batch" } });
    await collector.cycle(); // the last read found 1 flow in 25 buckets or more: the walk
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("kernel");
    expect(mapDelete(fd(), key(7))).toBe(true);
    await collector.cycle();
    expect(check.check()).toMatchObject({ tamper: "counts_missing", found: { missing_at_least: "1", map_read_by: "kernel" } });
    close();
  });

  test("a kernel walk that fails is told once, and the check reads with batch lookups from then on, still finding a tampering", async () => {
    const failed: string[] = [];
    const { collector, check, kernelSum, close } = watched(HOUR_NS, "kernel", undefined, (e) => failed.push(e.message));
    bpf.run(frame(41021), 3);
    await collector.cycle();
    expect(check.check()).toBeNull();
    kernelSum!.close(); // the program gone: its next run fails
    await collector.cycle(); // quiet: the check's own read
    expect(check.check()).toBeNull();
    expect(check.lastSum).toBe("batch");
    expect(failed).toEqual([expect.stringContaining("flow-sum program")]);
    put(9, [5]); // never seen by the program's counters
    await collector.cycle();
    expect(check.check()).toMatchObject({ tamper: "counts_added", found: { map_read_by: "batch" } });
    expect(failed.length).toBe(1);
    close();
  });
});
