/**
 * ato for linux-arm64, cross-built (scripts/matrix/build-arm64.sh: Bun's arm64 runtime, Debian's
 * arm64 libbpf, the NEON masking routine) and run under qemu-aarch64-static user-mode emulation
 * (scripts/matrix/arm64-user.sh): the binary starts and loads its embedded arm64 libbpf, and every
 * arm64 routine that does work passes the same tests against its oracle as the x86 one, run by the
 * arm64 binary acting as Bun (BUN_BE_BUN=1), memory only: the NEON ato_mask_batch (parity) and
 * ato_mask_keys, the span check ato_sha256_spans_within, and the new-flow routines ato_new_batch,
 * ato_due_rows and ato_recorded_rows (arm64's scan and line routines and the hash entry points of
 * libatosha256.so are stubs the bindings never call there); then the whole
 * end-to-end run of the x86 matrix on Debian's arm64 kernel under qemu-system-aarch64
 * (scripts/matrix/arm64-vm.sh: XDP native and generic, traffic counted, SIGTERM, verify, the
 * NEON path). Needs the aarch64
 * binutils and g++, qemu-user-static, qemu-system-arm and Debian's mirror.
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

/** A test file (narrowed by a name pattern) run by the arm64 binary acting as Bun, on the arm64 libraries: no failure, and at least `passes` passed (none skipped away). */
function passesOnArm64(file: string, passes: number, pattern?: string): void {
  const r = sh(["scripts/matrix/arm64-user.sh", "test", "--timeout", "120000", ...(pattern ? ["-t", pattern] : []), file],
    { BUN_BE_BUN: "1", ATO_LIB_DIR: `${root}/dist/lib-arm64` });
  const out = text(r);
  expect({ file, code: r.exitCode, fail: /\b(\d+) fail\b/.exec(out)?.[1], tail: r.exitCode === 0 ? "" : out.slice(-3000) }).toEqual({ file, code: 0, fail: "0", tail: "" });
  expect(Number(/\b(\d+) pass\b/.exec(out)?.[1])).toBeGreaterThanOrEqual(passes);
}

test("[arm64] the NEON masking routine matches the TypeScript reference (test/mask/parity.test.ts on the arm64 runtime)", () => {
  passesOnArm64("test/mask/parity.test.ts", 6);
}, 300_000);

test("[arm64] the NEON ato_mask_keys masks each flow key's addresses as the copy and maskBatch do (test/mask/ffi.test.ts, chunk-line's masking test)", () => {
  passesOnArm64("test/mask/ffi.test.ts", 5);
  passesOnArm64("test/collector/chunk-line.test.ts", 1, "keys are masked in one native call"); // its other native tests are x86's line writer
}, 300_000);

test("[arm64] the span check ato_sha256_spans_within agrees with its oracle (test/ffi/sha256-spans.test.ts)", () => {
  passesOnArm64("test/ffi/sha256-spans.test.ts", 3);
}, 300_000);

test("[arm64] the new-flow routines (asm/flow_new_arm64.S) equal their TypeScript loops bit for bit (test/collector/flow-new.test.ts; baseline.test.ts and chunk.test.ts, where they are the default)", () => {
  passesOnArm64("test/collector/flow-new.test.ts", 8);
  passesOnArm64("test/collector/baseline.test.ts", 6);
  passesOnArm64("test/collector/chunk.test.ts", 3);
}, 300_000);

test("[arm64][kernel][qemu] Debian's arm64 kernel under qemu-system-aarch64 runs dist/ato-arm64 end to end", () => {
  const r = sh(["scripts/matrix/arm64-vm.sh"]);
  const out = text(r);
  console.log(out.split("\n").filter((l) => /^(==|  info|arm64:)/.test(l)).join("\n"));
  const failed = out.split("\n").filter((l) => / FAIL/.test(l));
  expect({ code: r.exitCode, failed }).toEqual({ code: 0, failed: [] });
  expect(out).toContain("arm64: PASS");
  expect(out).toMatch(/^6\.1-arm64: PASS flows-drv/m);
  expect(out).toMatch(/info: mask-drv simd=neon/);
}, 20 * 60_000);
