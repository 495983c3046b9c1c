/**
 * The export policy on the real flow map and a SoftHSM-signed log: with an active timeout a
 * flow's growth waits in the map until the flow ends (idle), stays active for the timeout,
 * is replaced or evicted, or the agent stops; each record says why, the map is still read
 * every cycle for the metrics, and the records of a flow still add up to the kernel's count.
 * The export hook sees exactly the records the log holds. Needs root (bpffs).
 */
import { describe, expect, test } from "bun:test";
import { mapDelete } from "../../ffi/libbpf.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import type { ExportedFlow } from "../../src/collector/index.ts";
import { runVerify } from "../log/_helpers.ts";
import { bpf, fd, h, HOUR_NS, key, lines, put, records, setup, useCollectorLab } from "./_lab.ts";

useCollectorLab();

const S = 1_000_000_000n;
const reasons = (dir: string) => records(dir).map((r) => [r.src, r.packets, r.reason]);

describe("export policy (active and idle timeouts)", () => {
  test("a flow active longer than the active timeout gets a record (active); a young one waits, yet its growth reaches the metrics", async () => {
    const { dir, log, collector } = setup(undefined, HOUR_NS, {}, 1n * S);
    collector.start();
    const now = monotonicNs();
    put(1 * 256, [5], now, now - 5n * S); // began 5 s ago
    put(2 * 256, [3], now, now); // began now
    const c = await collector.cycle();
    expect(c).toMatchObject({ flows: 2, records: 1, reasons: { active: 1 } });
    expect(c.byProto.get(6)).toEqual({ packets: 8, bytes: 800 });
    expect(reasons(dir)).toEqual([["198.18.1.0/24", 5, "active"]]);
    // The active timeout runs again from that record: more packets at once wait too.
    put(1 * 256, [9], monotonicNs(), now - 5n * S);
    expect(await collector.cycle()).toMatchObject({ records: 0 });
    log.close();
  });

  test("at shutdown every flow's unrecorded growth is recorded (shutdown); the flow's records sum to the kernel's count", async () => {
    const { dir, log, collector } = setup(undefined, HOUR_NS, {}, HOUR_NS);
    collector.start();
    const t = monotonicNs();
    for (let round = 1; round <= 3; round++) {
      put(3 * 256, [round * 4], monotonicNs(), t);
      expect((await collector.cycle()).records).toBe(0);
    }
    put(3 * 256, [20], monotonicNs(), t);
    const last = await collector.cycle({ final: true });
    expect(last).toMatchObject({ records: 1, reasons: { shutdown: 1 } });
    expect(await collector.cycle({ final: true })).toMatchObject({ records: 0 }); // nothing left unrecorded
    log.close();
    expect(records(dir).map((r) => [r.packets, r.packets_total, r.reason])).toEqual([[20, 20, "shutdown"]]);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("a flow that ends (idle) has its final record carry everything read of it but not yet recorded", async () => {
    const { dir, log, collector } = setup(undefined, 1n * S, {}, HOUR_NS);
    collector.start();
    const began = monotonicNs() - 10n * S;
    put(4 * 256, [4], monotonicNs(), began);
    expect((await collector.cycle()).records).toBe(0);
    put(4 * 256, [10], monotonicNs() - 3n * S, began); // its last packet 3 s ago: idle
    const c = await collector.cycle();
    expect(c).toMatchObject({ removed: 1, records: 1, reasons: { idle: 1 } });
    expect(bpf.flows()).toHaveLength(0);
    log.close();
    expect(records(dir).map((r) => [r.packets, r.packets_total, r.reason])).toEqual([[10, 10, "idle"]]);
  });

  test("an entry made anew outside ato first closes the old one's unrecorded growth (recreated); the new one's follows", async () => {
    const { dir, log, collector } = setup(undefined, HOUR_NS, {}, HOUR_NS);
    collector.start();
    const t = monotonicNs();
    put(5 * 256, [50], t, t - 5_000_000n);
    await collector.cycle();
    mapDelete(fd(), key(5 * 256));
    put(5 * 256, [3], t + 2_000_000n, t + 1_000_000n);
    expect(await collector.cycle()).toMatchObject({ records: 1, reasons: { recreated: 1 } });
    await collector.cycle({ final: true });
    log.close();
    expect(records(dir).map((r) => [r.packets, r.packets_total, r.reason])).toEqual([[50, 50, "recreated"], [3, 3, "shutdown"]]);
  });

  test("an entry that left the map without ato removing it has its unrecorded growth recorded (evicted)", async () => {
    const { dir, log, collector } = setup(undefined, HOUR_NS, {}, HOUR_NS);
    collector.start();
    put(6 * 256, [7]);
    put(7 * 256, [2]);
    await collector.cycle();
    mapDelete(fd(), key(6 * 256));
    expect(await collector.cycle()).toMatchObject({ flows: 1, records: 1, reasons: { evicted: 1 } });
    expect(await collector.cycle()).toMatchObject({ records: 0 }); // forgotten once recorded
    log.close();
    expect(reasons(dir)).toEqual([["198.18.6.0/24", 7, "evicted"]]);
  });

  test("the export hook gets each record once it is written: unmasked key, the record's growth, times, reason and seq", async () => {
    const got: ExportedFlow[] = [];
    const { dir, log, collector } = setup(undefined, HOUR_NS, {}, 1n * S, (f) => got.push(...f));
    collector.start();
    const now = monotonicNs();
    put(8 * 256 + 9, [6], now, now - 5n * S);
    put(9 * 256, [1], now, now);
    await collector.cycle();
    await collector.cycle({ final: true });
    log.close();
    const written = lines(dir).filter((l) => l.kind === "flow");
    expect(got.map((f) => [f.seq, f.reason, f.packets, f.bytes])).toEqual(written.map((l) => [l.seq, l.data.reason, l.data.packets, l.data.bytes]));
    const first = got[0]!;
    expect([...first.key.src.subarray(0, 4)]).toEqual([198, 18, 8, 9]); // not masked
    expect(first).toMatchObject({ iface: "lo", packetsTotal: 6, bytesTotal: 600, tcpFlags: 0, reason: "active" });
    expect(new Date(first.startMs).toISOString()).toBe(written[0]!.data.first_seen);
    expect(new Date(first.endMs).toISOString()).toBe(written[0]!.data.last_seen);
  });
});
