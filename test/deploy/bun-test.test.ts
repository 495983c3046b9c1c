/**
 * A plain `bun test` in the repository uses the suite's time-out (bunfig.toml's preload), not
 * Bun's 5 s default, and `--timeout N` on the command line still wins. The probe is a test file
 * written outside the tree (so the suite never runs it itself) that sleeps past 5 s.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(`${tmpdir()}/ato-bun-test-probe-`);
const probe = `${dir}/sleeps.test.ts`;
writeFileSync(probe, `import { test } from "bun:test";\ntest("sleeps 5.5 s", async () => { await Bun.sleep(5500); });\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bunTest(...args: string[]) {
  // The parent's own --timeout must not leak in: the child gets a plain command line.
  const r = Bun.spawnSync(["bun", "test", ...args, probe], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

test("`bun test` without --timeout gives a test longer than Bun's 5 s default", () => {
  const r = bunTest();
  expect({ code: r.code, pass: /\b1 pass\b/.test(r.out) }, r.out).toEqual({ code: 0, pass: true });
}, 60_000);

test("`bun test --timeout 2000` still times the same test out at 2 s", () => {
  const r = bunTest("--timeout", "2000");
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("timed out after 2000ms");
}, 60_000);
