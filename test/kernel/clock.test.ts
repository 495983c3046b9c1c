/**
 * Which clock stamps a flow (needs root): first seen from the fine clock, later packets from the
 * coarse one (as of the last tick) held so a flow's times never step back, and the fine clock
 * throughout while the timing audit is on.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { monotonicNs } from "../../ffi/libc.ts";
import { loadForTest } from "../support/bpf.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";

const frame = v4Frame({ src: "198.18.11.1", dst: "198.18.11.2", proto: IPPROTO.TCP }, tcp(41000, 443, 0x10)).frame;
const progs: ReturnType<typeof loadForTest>[] = [];
afterAll(() => { for (const p of progs) p.cleanup(); });

function load(timing: boolean) {
  const p = loadForTest({ timingEnabled: timing });
  progs.push(p);
  return p;
}

describe("[kernel] flow times", () => {
  let off: ReturnType<typeof load>, on: ReturnType<typeof load>;
  beforeEach(() => {
    off ??= load(false);
    on ??= load(true);
    off.reset();
    on.reset();
  });

  test("first seen is the fine clock; later packets never stamp the flow earlier, nor later than now", async () => {
    const before = monotonicNs();
    off.run(frame);
    const first = off.flows()[0]!.counts;
    expect(first.firstSeenNs).toBeGreaterThanOrEqual(before);
    expect(first.lastSeenNs).toBe(first.firstSeenNs);
    let last = first.lastSeenNs;
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(3);
      off.run(frame, 1000);
      const now = monotonicNs();
      const c = off.flows()[0]!.counts;
      expect(c.firstSeenNs).toBe(first.firstSeenNs);
      expect(c.lastSeenNs).toBeGreaterThanOrEqual(last);
      expect(c.lastSeenNs).toBeLessThanOrEqual(now);
      last = c.lastSeenNs;
    }
    // Once the coarse clock passes first seen (a tick or so later), last seen moves on with it.
    for (let i = 0; i < 50 && off.flows()[0]!.counts.lastSeenNs === first.firstSeenNs; i++) {
      await Bun.sleep(20);
      off.run(frame);
    }
    expect(off.flows()[0]!.counts.lastSeenNs).toBeGreaterThan(first.firstSeenNs);
  });

  test("with the timing audit on, every packet takes the fine clock", () => {
    on.run(frame);
    const before = monotonicNs();
    on.run(frame);
    const after = monotonicNs();
    const c = on.flows()[0]!.counts;
    expect(c.lastSeenNs).toBeGreaterThanOrEqual(before);
    expect(c.lastSeenNs).toBeLessThanOrEqual(after);
  });
});
