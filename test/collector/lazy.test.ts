/**
 * The map is read only when something needs what it holds. Frames run through two loaded copies of the real
 * XDP program (BPF_PROG_TEST_RUN), the same frames into each at the same steps; one collector reads its map
 * only when needed, the other is forced to read every cycle (watched, as after a scrape). The lazy one must
 * write the same records (flow, reason, packets) at the same cycles, read its map far less often, and never
 * between the times a flow can be due; the sums of every flow's records are what its kernel counted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Collector, type CycleSummary, type ExportedFlow } from "../../src/collector/index.ts";
import { FlowMapReader, readCounters } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";
import { loadForTest } from "../support/bpf.ts";
import { openLog, tempDir } from "../log/_helpers.ts";
import { bpf, h, HOUR_NS, records, useCollectorLab } from "./_lab.ts";

useCollectorLab();
let eagerBpf: ReturnType<typeof loadForTest>;
beforeAll(() => { eagerBpf = loadForTest({}, 65_536); });
afterEach(() => eagerBpf.reset());
afterAll(() => eagerBpf?.cleanup());

const STEP_MS = 200;
const ms = (n: number) => BigInt(Math.round(n * 1e6));
/** Flow n's frame: its own source /24, so its masked records are told apart by `src`. */
const frame = (n: number) => v4Frame({ src: `198.18.${n}.1`, dst: "198.19.0.1", proto: IPPROTO.TCP }, tcp(40000 + n, 443, 0x10)).frame;
const src = (n: number) => `198.18.${n}.0/24`;

type Seen = { step: number; src: string; reason: string; packets: number };

function collector(b: ReturnType<typeof loadForTest>, idleNs: bigint, activeNs: bigint, o: { watched?: boolean; onRead?: () => void; seen: Seen[]; step: () => number }) {
  const dir = tempDir("ato-collector-lazy-");
  const log = openLog(dir, h, { checkpointEvery: 1000 });
  const masker = Masker.open({});
  const c = new Collector({
    reader: new FlowMapReader(b.auditor.mapFd("flows"), 256), masker, log, idleTimeoutNs: idleNs, activeTimeoutNs: activeNs, ifaceName: () => "lo",
    packetsSeen: () => readCounters(b.auditor.mapFd("counters")).packets,
    watched: o.watched ? () => true : undefined,
    onRead: o.onRead,
    onExport: (flows: ExportedFlow[]) => { for (const f of flows) o.seen.push({ step: o.step(), src: `198.18.${f.key.src[2]}.0/24`, reason: f.reason, packets: f.packets }); },
  });
  return { dir, log, masker, c };
}

/**
 * Runs `steps` cycles STEP_MS apart on both collectors, then the final one; `traffic(step)` names the flows that
 * get a frame right after that step's cycle (in both maps). Returns what each wrote and read, cycle by cycle.
 */
async function side(idleNs: bigint, activeNs: bigint, steps: number, traffic: (step: number) => number[]) {
  let step = 0;
  const lazySeen: Seen[] = [], eagerSeen: Seen[] = [];
  const lazy = collector(bpf, idleNs, activeNs, { seen: lazySeen, step: () => step });
  const eager = collector(eagerBpf, idleNs, activeNs, { watched: true, seen: eagerSeen, step: () => step });
  lazy.c.start();
  eager.c.start();
  const lazyReads: number[] = [], eagerReads: number[] = [];
  const t0 = performance.now();
  for (step = 0; step < steps; step++) {
    await Bun.sleep(Math.max(0, t0 + step * STEP_MS - performance.now()));
    const a: CycleSummary = await lazy.c.cycle(), b: CycleSummary = await eager.c.cycle();
    if (a.read) lazyReads.push(step);
    if (b.read) eagerReads.push(step);
    for (const n of traffic(step)) { bpf.run(frame(n)); eagerBpf.run(frame(n)); }
  }
  await lazy.c.cycle({ final: true });
  await eager.c.cycle({ final: true });
  for (const s of [lazy, eager]) { s.log.close(); s.masker.close(); }
  return { lazySeen, eagerSeen, lazyReads, eagerReads, lazyDir: lazy.dir, sent: (n: number) => Array.from({ length: steps }, (_, i) => i).filter((i) => traffic(i).includes(n)).length };
}

const sums = (dir: string) => {
  const out = new Map<string, number>();
  for (const r of records(dir)) out.set(r.src, (out.get(r.src) ?? 0) + r.packets);
  return out;
};

describe("the collector reads the map only when something needs it", () => {
  test("the flows of its last whole read are known until a cycle fails or reads again (the stop's JIT policy uses them)", async () => {
    const s = collector(bpf, ms(60_000), ms(60_000), { seen: [], step: () => 0 });
    try {
      expect(s.c.flowsRead).toBeUndefined(); // nothing read yet
      for (const n of [1, 2, 3]) bpf.run(frame(n));
      expect((await s.c.cycle()).read).toBe(true);
      expect(s.c.flowsRead).toBe(3);
      expect((await s.c.cycle()).read).toBe(false); // nothing can be due: no read, the count kept
      expect(s.c.flowsRead).toBe(3);
    } finally { s.log.close(); s.masker.close(); }
  });

  test("traffic flowing, nobody watching: reads only when a flow can be due, with every idle and active record at the cycle a read every interval gives it", async () => {
    // Timeouts half a step off the cycles, so no due time falls within the ms between the two collectors' cycles.
    const idle = ms(6.5 * STEP_MS), active = ms(9.5 * STEP_MS), steps = 36;
    const { lazySeen, eagerSeen, lazyReads, eagerReads, lazyDir, sent } = await side(idle, active, steps, (s) => [
      ...(s <= 24 ? [1] : []), // steady: active records, then idle once it stops
      ...(s <= 2 ? [2] : []), // a burst, then idle
      ...(s >= 12 && s <= 14 ? [3] : []), // a flow that is not in the map at the reads before step 12
    ]);
    // First seen just after step 0: active at 9.5 steps, so at step 10 and every 10 steps; idle 6.5 steps after the last frame.
    expect(eagerSeen).toEqual([
      { step: 9, src: src(2), reason: "idle", packets: 3 },
      { step: 10, src: src(1), reason: "active", packets: 10 },
      { step: 20, src: src(1), reason: "active", packets: 10 },
      { step: 21, src: src(3), reason: "idle", packets: 3 },
      { step: 30, src: src(1), reason: "active", packets: 5 },
    ]);
    expect(lazySeen).toEqual(eagerSeen);
    // The forced one reads every cycle in which a frame came (and the idle removal at 31); the lazy one only at the
    // first cycle and where a flow can be due as of its last read: its lastSeen then + idle (7: flows 1 and 2's
    // frames of step 0; 16: flow 1's of step 9, read at 10; 27: flow 1's of step 20; 31: flow 1's last, removed
    // without a record), its exportedAt + active, and a record's cycle (9, 10, 20, 21, 30).
    expect(eagerReads).toEqual([...Array.from({ length: 26 }, (_, i) => i), 30, 31]);
    expect(lazyReads).toEqual([0, 7, 9, 10, 16, 20, 21, 27, 30, 31]);
    // Evidence: each flow's records sum to what its kernel counted (1 packet per frame).
    expect(Object.fromEntries(sums(lazyDir))).toEqual({ [src(1)]: sent(1), [src(2)]: sent(2), [src(3)]: sent(3) });
  });

  test("a flow recorded with no growth waiting, then growing again, gets its active record at the cycle it is due", async () => {
    // Idle longer than active: once recorded, the flow's idle timeout is far; only its active one can bring the read.
    const idle = ms(30.5 * STEP_MS), active = ms(4.5 * STEP_MS), steps = 24;
    const { lazySeen, eagerSeen, lazyReads } = await side(idle, active, steps, (s) => [...(s <= 3 ? [4] : []), ...(s === 12 ? [4] : [])]);
    // Frames at steps 0-3 are recorded at step 5 (active); quiet, then one frame after step 12, due since step 10.
    expect(eagerSeen.filter((r) => r.step < steps)).toEqual([
      { step: 5, src: src(4), reason: "active", packets: 4 },
      { step: 13, src: src(4), reason: "active", packets: 1 },
    ]);
    expect(lazySeen).toEqual(eagerSeen);
    // Read at 5 (its active timeout) and 10 (a flow not yet read could be due); from 10 on, its own growth would be
    // due at once, but no frame came at 11 and 12, so those cycles read nothing; the frame after 12 brings the read
    // at 13. Then only the bound of a flow not yet in the map: 13 + 4.5, 18 + 4.5.
    expect(lazyReads).toEqual([0, 5, 10, 13, 18, 23]);
  });

  test("while a detector listens (onRead), every cycle in which a frame came reads the map and hands it each flow's growth", async () => {
    const seen: Seen[] = [];
    const grown: number[] = [];
    let step = 0, reads = 0;
    const s = collector(bpf, HOUR_NS, HOUR_NS, { seen, step: () => step, onRead: () => { grown.push(step); } });
    s.c.start();
    for (step = 0; step < 6; step++) {
      bpf.run(frame(5));
      if ((await s.c.cycle()).read) reads++;
    }
    s.log.close();
    s.masker.close();
    expect(reads).toBe(6);
    expect(grown).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen).toEqual([]); // nothing due: the hour-long timeouts are far
  });
});
