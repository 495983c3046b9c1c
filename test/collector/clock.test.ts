/** Kernel monotonic timestamps become wall time that matches the wall clock now. */
import { expect, test } from "bun:test";
import { KernelClock } from "../../src/collector/index.ts";

test("a kernel timestamp taken now converts to within a second of Date.now()", () => {
  const clock = new KernelClock();
  const now = clock.nowNs();
  const wall = Date.parse(clock.toIso(now));
  expect(Math.abs(wall - Date.now())).toBeLessThan(1000);
  // The kernel's clock: /proc/uptime is CLOCK_BOOTTIME, never behind CLOCK_MONOTONIC.
  const uptimeNs = BigInt(Math.round(Number(require("node:fs").readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1e9));
  expect(now).toBeLessThanOrEqual(uptimeNs + 1_000_000_000n);
});
