/**
 * The conservation check takes the collector's own read of the map: after a cycle that read it, the check reads
 * nothing more and uses that read's packet sum, bracketed by the kernel's counters; after a quiet cycle (skipped,
 * nothing read) it reads the map itself, so a tampering is found within one interval either way. Flows the
 * collector removes as idle after its read are no finding. Frames go through the real XDP program
 * (BPF_PROG_TEST_RUN); tamperings are written into the map from user space, as bpftool would.
 */
import { describe, expect, test } from "bun:test";
import { mapDelete } from "../../ffi/libbpf.ts";
import { Conservation } from "../../src/attest/conservation.ts";
import { Collector } from "../../src/collector/index.ts";
import { encodeKey, FlowMapReader, readCounters } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";
import { openLog, tempDir } from "../log/_helpers.ts";
import { bpf, fd, h, HOUR_NS, put, useCollectorLab } from "../collector/_lab.ts";

useCollectorLab();
const SRC = "198.18.31.1", DST = "198.18.31.2";
const frame = (sport: number) => v4Frame({ src: SRC, dst: DST, proto: IPPROTO.TCP }, tcp(sport, 443, 0x10)).frame;
const v4 = (a: string) => { const b = new Uint8Array(16); b.set(a.split(".").map(Number)); return b; };
/** The map key the program made for `frame(sport)` (the test run's ingress interface is lo, ifindex 1). */
const keyOf = (sport: number) => encodeKey({ family: 4, proto: IPPROTO.TCP, src: v4(SRC), dst: v4(DST), sport, dport: 443, vlan: 0, vlanInner: 0, ifindex: 1 });

function watched(idleTimeoutNs = HOUR_NS) {
  const masker = Masker.open({});
  const log = openLog(tempDir("ato-attest-conservation-"), h, { checkpointEvery: 1000 });
  const reader = new FlowMapReader(fd(), 256);
  const counters = () => readCounters(bpf.auditor.mapFd("counters"));
  // watched: every cycle in which a frame came reads the map (as while /metrics is scraped), else only when a flow is due.
  const collector = new Collector({ reader, masker, log, idleTimeoutNs, activeTimeoutNs: 60n * 1_000_000_000n, ifaceName: () => "lo", packetsSeen: () => counters().packets, watched: () => true });
  collector.start();
  const check = Conservation.start({ reader, counters });
  collector.mapRead = check.readHook;
  return { collector, check, close: () => { log.close(); masker.close(); } };
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
    expect(check.lastFromCollector).toBe(false);
    expect(f).toMatchObject({ tamper: "counts_missing", subject: "flow_map", found: { missing_at_least: "4" } });
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
    expect(check.lastFromCollector).toBe(true);
    expect(f).toMatchObject({ tamper: "counts_added", found: { added_at_least: "9" } });
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
    expect(check.lastFromCollector).toBe(false);
    close();
  });
});
