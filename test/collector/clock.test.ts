/** Kernel monotonic timestamps become wall time that matches the wall clock now, and stays put. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { KernelClock } from "../../src/collector/index.ts";

test("a kernel timestamp taken now converts to within a second of Date.now()", () => {
  const clock = new KernelClock();
  const now = clock.sync();
  const wall = Date.parse(clock.toIso(now));
  expect(Math.abs(wall - Date.now())).toBeLessThan(1000);
  // The kernel's clock: /proc/uptime is CLOCK_BOOTTIME, never behind CLOCK_MONOTONIC.
  const uptimeNs = BigInt(Math.round(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1e9));
  expect(now).toBeLessThanOrEqual(uptimeNs + 1_000_000_000n);
});

test("one kernel timestamp is the same wall time after every re-measurement of the offset", () => {
  const clock = new KernelClock();
  const base = clock.sync() - 5_000_000_000n;
  // 200 timestamps spread over one millisecond: any jitter of the offset moves some across a millisecond.
  const stamps = Array.from({ length: 200 }, (_, i) => base + BigInt(i) * 5_000n);
  const first = stamps.map((t) => clock.toIso(t));
  for (let round = 0; round < 50; round++) {
    clock.sync();
    expect(stamps.map((t) => clock.toIso(t))).toEqual(first);
  }
});

test("a step of the wall clock (or a resumed VM) is taken over at the next sync; jitter below a millisecond is not", () => {
  let mono = 1_000_000_000_000n, wall = 1_800_000_000_000_000_000n; // 2027-01-15, an exact millisecond
  const clock = new KernelClock({ monotonicNs: () => mono, realtimeNs: () => wall });
  clock.sync();
  const t = mono;
  expect(clock.toIso(t)).toBe(new Date(1_800_000_000_000).toISOString());
  wall += 900_000n; // 0.9 ms of disagreement: kept
  clock.sync();
  expect(clock.toIso(t)).toBe(new Date(1_800_000_000_000).toISOString());
  wall += 5_000_000_000n; // the wall clock stepped 5 s ahead
  clock.sync();
  expect(clock.toIso(t)).toBe(new Date(1_800_000_005_000).toISOString());
});

test("a reading preempted between its clock reads (a loaded host) is no step: the offset stays", () => {
  let mono = 1_000_000_000n, calls = 0, preempted = false;
  const OFFSET = 1_700_000_000_000_000_000n;
  // A preempted reading sleeps 5 ms after reading the wall clock: it measures the offset 2.5 ms off.
  const clocks = { monotonicNs: () => (calls++ % 2 === 0 || !preempted ? mono : (mono += 5_000_000n)), realtimeNs: () => mono + OFFSET };
  const clock = new KernelClock(clocks);
  clock.sync();
  const t = mono;
  const first = clock.toIso(t);
  preempted = true;
  for (let i = 0; i < 5; i++) clock.sync();
  expect(clock.toIso(t)).toBe(first);
});

test("msOf (a kernel time held as a Number) is the exact (mono + offset) / 1e6 around 2^53 and up to 2^63: hosts up longer than 104 days", () => {
  // Offsets whose rest (offset mod 1 ms) puts 2^53 - 1 + rest just below, at and past a whole millisecond.
  const rests = [0n, 1n, 259_007n, 259_008n, 259_009n, 740_992n, 999_999n];
  const monos: number[] = [];
  for (const edge of [2 ** 53 - 1e6, 2 ** 53, 2 ** 62, 2 ** 63]) for (let d = -3e6; d <= 3e6; d += 997) monos.push(edge + d);
  for (let ms = 9_007_199_250; ms < 9_007_199_260; ms++) for (let d = -4; d <= 4; d++) monos.push(ms * 1e6 + d); // multiples of 1e6 near 2^53
  monos.push(2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 200 * 86_400e9, 2 ** 62, 2 ** 63 - 2 ** 10, 0, 1, 999_999, 1e6);
  let checked = 0;
  for (const rest of rests) {
    const offset = 1_764_000_000_000n * 1_000_000n + rest;
    const clock = new KernelClock({ monotonicNs: () => 0n, realtimeNs: () => offset });
    clock.sync();
    for (const mono of monos) {
      if (!(mono >= 0 && mono < 2 ** 63)) continue;
      const want = Number((BigInt(mono) + offset) / 1_000_000n);
      const got = clock.msOf(mono);
      if (got !== want) expect({ rest, mono, got }).toEqual({ rest, mono, got: want });
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(50_000);
});
