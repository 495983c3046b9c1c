/**
 * The single binary on a bare host (needs root, and Debian's mirror when the cached root is made): a
 * minbase root filesystem with only libelf1 and zlib1g beside libc (and SoftHSM as the host's HSM,
 * iproute2 with its libbpf off the library path; test/support/rootfs.ts),
 * where `ato version`, `ato hsm init`, `ato run` on a lab interface and `ato verify` all work.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { bareRoot, type Rootfs } from "../support/rootfs.ts";

const root = `${import.meta.dir}/../..`;
let lab: Lab;
let bare: Rootfs | undefined;
let rootfs: string;
const pinDir = uniquePinDir("bare");

beforeAll(() => {
  lab = createLab();
  bare = bareRoot("bare");
  rootfs = bare.dir;
  copyFileSync(`${root}/dist/ato`, `${rootfs}/usr/local/bin/ato`);
  Bun.spawnSync(["chmod", "755", `${rootfs}/usr/local/bin/ato`]);
}, 600_000);

afterAll(() => {
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  bare?.remove();
});

test("[kernel][hsm] dist/ato runs on a minimal Debian root filesystem: version, hsm init, run, verify", () => {
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "bash", `${root}/scripts/bare-host.sh`,
    rootfs, lab.server.ns, lab.server.dev, lab.client.ns, lab.server.v4, pinDir], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString() + r.stderr.toString();
  expect({ code: r.exitCode, out: r.exitCode === 0 ? "" : out }).toEqual({ code: 0, out: "" });
  expect(out).toContain("no libbpf, no bun, no node");
  expect(out).toMatch(/libbpf\s+1\.1/);
  expect(out).toMatch(/XDP audit hook attached on \S+ with mode=drv/);
  expect(out).toContain("VERIFIED");
  expect(out).toMatch(/final checkpoint at tree size \d+ signature_status=ok/);
}, 300_000);
