/**
 * The collector on the real flow map of the loaded XDP object (counts written into it from
 * user space, per CPU) and a real evidence log signed through SoftHSM: the records of a flow
 * add up to what the map holds, nothing is reported twice, idle flows leave the map with
 * their last counts, and a full disk loses nothing. Needs root (bpffs, mount).
 */
import { describe, expect, test } from "bun:test";
import { mapDelete } from "../../ffi/libbpf.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import { AtoError } from "../../src/errors.ts";
import type { EvidenceLog } from "../../src/log/index.ts";
import { runVerify } from "../log/_helpers.ts";
import { bpf, CPUS, fd, h, HOUR_NS, key, lines, mountTmpfs, put, records, setup, sumByFlow, useCollectorLab } from "./_lab.ts";

useCollectorLab();

describe("Collector", () => {
  test("the start record states what the map already held, and a cycle with nothing new writes nothing", async () => {
    put(1, [3, 4]);
    put(2, [5]);
    const { dir, log, collector } = setup();
    const pre = collector.start();
    const expected = CPUS > 1 ? 12 : 8;
    expect(pre).toEqual({ flows: 2, packets: expected, bytes: expected * 100 });
    const c = await collector.cycle();
    expect(c.flows).toBe(2);
    expect(c.records).toBe(0);
    log.close();
    const start = records(dir, "agent")[0]!;
    expect(start.preexisting_flows).toBe(2);
    expect(start.preexisting_packets).toBe(expected);
    expect(records(dir)).toHaveLength(0);
  });

  test("each record carries the growth since the previous one; a flow's records add up to the kernel's count", async () => {
    const { dir, log, collector } = setup();
    collector.start();
    // Flows on distinct /24s so the masked source tells them apart.
    const flows = [0, 256, 512];
    const counts = new Map<number, number[]>();
    for (let round = 1; round <= 4; round++) {
      for (const [n, i] of flows.entries()) {
        const perCpu = [round * (n + 1), round * 2].slice(0, CPUS);
        counts.set(i, perCpu);
        put(i, perCpu);
      }
      const c = await collector.cycle();
      expect(c.records).toBe(flows.length);
      expect(await collector.cycle()).toMatchObject({ records: 0 }); // nothing grew in between
    }
    log.close();
    const recs = records(dir);
    expect(recs).toHaveLength(4 * flows.length);
    const sums = sumByFlow(recs);
    const bytes = sumByFlow(recs, "bytes");
    for (const i of flows) {
      const total = counts.get(i)!.reduce((a, b) => a + b, 0);
      const src = `198.18.${(i >> 8) & 255}.0/24`;
      expect(sums.get(src)).toBe(total);
      expect(bytes.get(src)).toBe(total * 100);
      const last = recs.filter((r) => r.src === src).at(-1)!;
      expect(last.packets_total).toBe(total);
    }
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("a flow the kernel made anew (lower counts than reported) has all of its new counts reported", async () => {
    const { dir, log, collector } = setup();
    collector.start();
    put(7, [50]);
    await collector.cycle();
    mapDelete(fd(), key(7));
    put(7, [3]);
    await collector.cycle();
    log.close();
    expect(records(dir).map((r) => r.packets)).toEqual([50, 3]);
  });

  test("idle flows leave the map with their last counts, reason idle; active ones stay", async () => {
    const { dir, log, collector } = setup(undefined, 1_000_000_000n); // idle after 1 s
    collector.start();
    const old = monotonicNs() - 5_000_000_000n;
    put(1, [10], old);
    put(2, [20]);
    const first = await collector.cycle();
    expect(first).toMatchObject({ flows: 2, removed: 1, records: 2 });
    expect(bpf.flows().map((f) => Number(f.counts.packets))).toEqual([20]);
    const again = await collector.cycle();
    expect(again).toMatchObject({ flows: 1, removed: 0, records: 0 });
    log.close();
    const recs = records(dir);
    const ended = recs.find((r) => r.src === "198.18.0.0/24" && r.reason === "idle");
    expect(ended).toMatchObject({ packets: 10, packets_total: 10 });
    expect(recs.filter((r) => r.reason !== "idle").map((r) => [r.packets, r.reason])).toEqual([[20, "interval"]]);
  });

  test("more flows than one chunk and one read batch: every one reported once, and the event loop runs during the cycle", async () => {
    const n = 10_000;
    for (let i = 0; i < n; i++) put(i, [1 + (i % 5)]);
    const { dir, log, collector } = setup();
    collector.start(); // taken as preexisting
    for (let i = 0; i < n; i++) put(i, [2 + (i % 5)]); // every flow grows by one packet
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const c = await collector.cycle();
    clearInterval(timer);
    expect(c).toMatchObject({ flows: n, records: n });
    expect(ticks).toBeGreaterThan(0);
    expect(c.byProto.get(6)).toEqual({ packets: n, bytes: n * 100 });
    log.close();
    const recs = records(dir);
    expect(recs).toHaveLength(n);
    expect(recs.every((r) => r.packets === 1 && r.bytes === 100)).toBe(true);
  });

  test("a full disk loses nothing: the growth that could not be written is reported by the next cycle", async () => {
    const dir = mountTmpfs("ato-collector-full-", "size=256k");
    const { log, collector } = setup(dir);
    collector.start();
    const n = 4000; // ~1.3 MB of records: cannot fit in 256 KiB
    for (let i = 0; i < n; i++) put(i, [7]);
    const error = await collector.cycle().then(() => undefined, (e) => e);
    expect(error).toBeInstanceOf(AtoError);
    expect((error as AtoError).code).toBe("IO");
    const before = records(dir).length;
    expect(before).toBeLessThan(n);

    expect(Bun.spawnSync(["mount", "-o", "remount,size=16m", dir]).exitCode).toBe(0);
    const c = await collector.cycle();
    expect(c.records).toBe(n - before);
    (log as EvidenceLog).close();
    const recs = records(dir);
    expect(recs).toHaveLength(n);
    expect(new Set(recs.map((r) => `${r.src}|${r.dst}`)).size).toBeGreaterThan(1);
    expect(recs.reduce((a, r) => a + r.packets, 0)).toBe(7 * n);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("a checkpoint that cannot be written after its chunk was (no inode for the next segment) does not make the next cycle write the chunk again", async () => {
    // A tmpfs with room for two inodes: its root and the active segment. Appending works; the
    // rotation at the first checkpoint past 500 lines renames the segment and then cannot
    // create the next one, right after a chunk's records were written.
    const dir = mountTmpfs("ato-collector-inodes-", "size=64m,nr_inodes=2");
    const errors: Error[] = [];
    const { log, collector } = setup(dir, HOUR_NS, { checkpointEvery: 100, rotateLines: 500, onError: (e) => errors.push(e) });
    collector.start();
    const n = 3000;
    for (let i = 0; i < n; i++) put(i, [10]);
    const failed = await collector.cycle().then(() => undefined, (e) => e);
    expect(failed).toBeInstanceOf(AtoError);
    expect((failed as AtoError).code).toBe("IO");
    const written = records(dir).length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(n);

    expect(Bun.spawnSync(["mount", "-o", "remount,nr_inodes=64", dir]).exitCode).toBe(0);
    const c = await collector.cycle();
    expect(c.records).toBe(n - written);
    (log as EvidenceLog).close();
    const recs = records(dir);
    expect(recs).toHaveLength(n);
    expect(recs.reduce((a, r) => a + r.packets, 0)).toBe(10 * n);
    expect(errors.map((e) => e.message).join("\n")).toMatch(/no space left|disk full/);
    expect(runVerify([dir, "--pubkey", h.pubkeyPath]).code).toBe(0);
  });

  test("--checkpoint-every N is honoured within a cycle: N lines between checkpoints, whatever the chunk size", async () => {
    const { dir, log, collector } = setup(undefined, HOUR_NS, { checkpointEvery: 1000 });
    collector.start();
    for (let i = 0; i < 5000; i++) put(i, [3]);
    await collector.cycle();
    log.close();
    const all = lines(dir);
    const counted = all.filter((r) => r.kind === "checkpoint" && r.data.trigger === "count").map((r) => r.seq);
    expect(counted).toEqual([1000, 2001, 3002, 4003, 5004]);
  });

  test("a flow deleted and made anew outside ato with at least its old count is reported whole (its first_seen changed)", async () => {
    const { dir, log, collector } = setup();
    collector.start();
    const t = monotonicNs();
    const [more, same] = [7 * 256, 8 * 256]; // distinct /24s: the masked source tells them apart
    put(more, [50], t, t - 5_000_000n);
    put(same, [40], t, t - 5_000_000n);
    await collector.cycle();
    mapDelete(fd(), key(more));
    mapDelete(fd(), key(same));
    put(more, [60], t + 2_000_000n, t + 1_000_000n); // more packets than were reported
    put(same, [40], t + 2_000_000n, t + 1_000_000n); // exactly as many as were reported
    await collector.cycle();
    log.close();
    const growth = (src: string) => records(dir).filter((r) => r.src === src).map((r) => [r.packets, r.packets_total]);
    expect(growth("198.18.7.0/24")).toEqual([[50, 50], [60, 60]]);
    expect(growth("198.18.8.0/24")).toEqual([[40, 40], [40, 40]]);
  });

  test("a flow's first_seen is the same wall time in every record of it, cycle after cycle", async () => {
    const { dir, log, collector } = setup();
    collector.start();
    const t0 = monotonicNs() - 60_000_000_000n;
    const flows = 64;
    for (let round = 1; round <= 12; round++) {
      // Sub-millisecond first_seen values spread over a millisecond, so that any drift of
      // the clock offset between cycles moves some of them into the next millisecond.
      for (let i = 0; i < flows; i++) put(i * 256, [round], monotonicNs(), t0 + BigInt(i) * 15_625n);
      expect((await collector.cycle()).records).toBe(flows);
    }
    log.close();
    const firstSeen = new Map<string, Set<string>>();
    for (const r of records(dir)) {
      const s = firstSeen.get(r.src) ?? new Set();
      s.add(r.first_seen);
      firstSeen.set(r.src, s);
    }
    expect(firstSeen.size).toBe(flows);
    const shifted = [...firstSeen].filter(([, s]) => s.size > 1).map(([src, s]) => `${src}: ${[...s].join(" ")}`);
    expect(shifted).toEqual([]);
  });
});
