/**
 * ato for linux-arm64, cross-built (scripts/matrix/build-arm64.sh: Bun's arm64 runtime, Debian's
 * arm64 libbpf, the NEON masking routine) and run under qemu-aarch64-static user-mode emulation
 * (scripts/matrix/arm64-user.sh): the binary starts and loads its embedded arm64 libbpf, and the
 * NEON routine passes the same parity tests against the TypeScript reference as the x86 ones,
 * run by the arm64 binary acting as Bun (BUN_BE_BUN=1). Needs binutils-aarch64-linux-gnu,
 * qemu-user-static and Debian's mirror. The kernel half (XDP, maps) is not exercised here.
 */
import { beforeAll, expect, test } from "bun:test";

const root = `${import.meta.dir}/../..`;
const sh = (args: string[], env: Record<string, string> = {}) =>
  Bun.spawnSync(["bash", ...args], { cwd: root, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
const text = (r: ReturnType<typeof sh>) => r.stdout.toString() + r.stderr.toString();

beforeAll(() => {
  const r = sh(["scripts/matrix/build-arm64.sh"]);
  if (r.exitCode !== 0) throw new Error(`build-arm64 failed: ${text(r).slice(-2000)}`);
}, 300_000);

test("[arm64] dist/ato-arm64 is an AArch64 executable that starts and loads its embedded arm64 libbpf", () => {
  const file = Bun.spawnSync(["file", "-b", `${root}/dist/ato-arm64`]).stdout.toString();
  expect(file).toContain("ARM aarch64");
  const r = sh(["scripts/matrix/arm64-user.sh", "version"]);
  expect({ code: r.exitCode, out: text(r) }).toMatchObject({ code: 0, out: expect.stringMatching(/libbpf\s+1\.\d/) });
}, 300_000);

test("[arm64] the NEON masking routine matches the TypeScript reference (test/mask/parity.test.ts on the arm64 runtime)", () => {
  const r = sh(["scripts/matrix/arm64-user.sh", "test", "--timeout", "120000", "test/mask/parity.test.ts"],
    { BUN_BE_BUN: "1", ATO_LIB_DIR: `${root}/dist/lib-arm64` });
  const out = text(r);
  expect({ code: r.exitCode, fail: /\b(\d+) fail\b/.exec(out)?.[1], tail: r.exitCode === 0 ? "" : out.slice(-3000) }).toEqual({ code: 0, fail: "0", tail: "" });
  expect(Number(/\b(\d+) pass\b/.exec(out)?.[1])).toBeGreaterThanOrEqual(6);
}, 300_000);
