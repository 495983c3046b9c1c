/**
 * ffi/libc.ts's huge-page advice: the whole 2 MiB pages inside a view are advised, and touching
 * them then faults them in as transparent huge pages (the process's AnonHugePages grows); a view
 * with no whole 2 MiB page inside is left alone. Skipped where THP is off ("never").
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { adviseHugePages } from "../../ffi/libc.ts";

const THP = "/sys/kernel/mm/transparent_hugepage/enabled";
const thpOff = !existsSync(THP) || readFileSync(THP, "utf8").includes("[never]");
const hugeKiB = () => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))?.[1] ?? 0);

test("a view smaller than a huge page is not advised", () => {
  expect(adviseHugePages(new Float64Array(1000))).toBe(0);
});

test.skipIf(thpOff)("the whole 2 MiB pages inside a view are advised, and come as huge pages once touched", () => {
  const before = hugeKiB();
  const view = new Float64Array((16 << 20) / 8); // 16 MiB, not touched yet
  const advised = adviseHugePages(view);
  expect(advised).toBeGreaterThanOrEqual(14 << 20); // at least 7 whole 2 MiB pages inside, whatever the alignment
  expect(advised % (2 << 20)).toBe(0);
  view.fill(1);
  expect(hugeKiB() - before).toBeGreaterThanOrEqual(2048);
  expect(view[view.length - 1]).toBe(1); // what the memory holds is the same
});
