/**
 * ffi/libc.ts's huge-page advice: the whole 2 MiB pages inside a view are advised (the kernel marks
 * their mappings `hg` in /proc/self/smaps, MADV_HUGEPAGE), and the memory still holds what was
 * written; a view with no whole 2 MiB page inside is left alone. Skipped where THP is off ("never").
 * Whether a touched page then comes as a huge page is the kernel's choice of the moment (with
 * another process fragmenting memory it falls back to 4 KiB pages), so that is not asserted.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { adviseHugePages } from "../../ffi/libc.ts";

const THP = "/sys/kernel/mm/transparent_hugepage/enabled";
const thpOff = !existsSync(THP) || readFileSync(THP, "utf8").includes("[never]");
/** KiB of this process's mappings advised for huge pages (VmFlags "hg"). */
const advisedKiB = () => readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
  .filter((m) => /^VmFlags:.*\bhg\b/m.test(m)).reduce((kib, m) => kib + Number(/^Size:\s+(\d+) kB/m.exec(m)?.[1] ?? 0), 0);

test("a view smaller than a huge page is not advised", () => {
  expect(adviseHugePages(new Float64Array(1000))).toBe(0);
});

test.skipIf(thpOff)("the whole 2 MiB pages inside a view are advised, and the kernel marks them so", () => {
  const before = advisedKiB();
  const view = new Float64Array((16 << 20) / 8); // 16 MiB, not touched yet
  const advised = adviseHugePages(view);
  expect(advised).toBeGreaterThanOrEqual(14 << 20); // at least 7 whole 2 MiB pages inside, whatever the alignment
  expect(advised % (2 << 20)).toBe(0);
  expect(advisedKiB() - before).toBeGreaterThanOrEqual(advised / 1024);
  view.fill(1);
  expect(view[view.length - 1]).toBe(1); // what the memory holds is the same
});
