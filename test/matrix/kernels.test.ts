/**
 * The kernel and CPU matrix in the suite: scripts/kernel-matrix.sh boots each of Debian's kernels
 * of its list under QEMU (KVM if it can boot here, else TCG) and runs dist/ato end to end inside;
 * this test fails when any kernel or CPU of the list fails a step. Needs root, qemu-system-x86,
 * debootstrap and Debian's mirror; downloads and images are cached under /var/cache/ato-matrix
 * (ATO_MATRIX_CACHE), so only the first run fetches. ATO_MATRIX_ONLY=6.1,6.12 narrows the list.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";

const root = `${import.meta.dir}/../..`;
const LIST = Bun.spawnSync(["bash", `${root}/scripts/kernel-matrix.sh`, "--list"]).stdout.toString().trim().split("\n");
const only = process.env.ATO_MATRIX_ONLY;
const names = only ? LIST.filter((n) => only.split(",").includes(n)) : LIST;

test("[kernel][qemu] every kernel and CPU of the matrix runs ato end to end", () => {
  const keep = mkdtempSync("/tmp/ato-matrix-kept-");
  try {
    const r = Bun.spawnSync(["bash", `${root}/scripts/kernel-matrix.sh`, "--keep", keep, ...(only ? ["--only", only] : [])],
      { cwd: root, stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString() + r.stderr.toString();
    console.log(out.split("\n").filter((l) => /^(==|accelerator|\S+: qemu ended|\S+ +\S+ +\S+ +\d+ pass|kernel matrix|not available)/.test(l)).join("\n"));
    const lines = out.split("\n");
    // The summary's verdict for each kernel; a failed kernel's step lines say which steps.
    const verdicts = Object.fromEntries(names.map((n) => [n, lines.find((l) => l.startsWith(`${n} `) && / pass +\d+ fail /.test(l))?.replace(/^.* s +/, "") ?? "not run"]));
    const bad = Object.entries(verdicts).filter(([, v]) => v !== "PASS" && v !== "KNOWN-FAIL").map(([n]) => n);
    const steps = lines.filter((l) => bad.some((n) => l.startsWith(`${n}: FAIL`)));
    expect({ code: r.exitCode, bad, steps, tail: r.exitCode === 0 ? "" : out.slice(-3000) }).toEqual({ code: 0, bad: [], steps: [], tail: "" });
    expect(out).toContain("kernel matrix: PASS");
    expect(out).toMatch(/^accelerator: (kvm|tcg) /m);
  } finally {
    rmSync(keep, { recursive: true, force: true });
  }
}, 40 * 60_000);
