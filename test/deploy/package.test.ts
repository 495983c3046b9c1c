/**
 * scripts/package.sh's .deb on a bare host (needs root, and Debian's mirror when the cached root is
 * made): it installs with dpkg into a minbase bookworm root (with SoftHSM, the HSM a host would bring),
 * `ato version` runs there, the package made the user ato, its directories and its place in
 * SoftHSM's group, and the installed unit passes `systemd-analyze verify` without a warning.
 * Reinstalling (an upgrade in place) keeps the user and the evidence directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { bareRoot, type Rootfs } from "../support/rootfs.ts";

const ROOT = resolve(import.meta.dir, "../..");
let host: Rootfs | undefined;
let out: string;
let deb: string;

/**
 * A command inside the root, with /proc and /dev mounted for it (Bun aborts without /proc) and gone after;
 * `cpuinfo` names a file laid over the root's /proc/cpuinfo (the mount is private to the command).
 */
const inRoot = (argv: string[], cpuinfo = "") => {
  const over = cpuinfo ? `mount --bind "${cpuinfo}" "$1/proc/cpuinfo";` : "";
  const script = `set -e; mount -t proc proc "$1/proc"; ${over} mount --bind /dev "$1/dev"; R=$1; shift; exec chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"`;
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", host!.dir, ...argv], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
};

beforeAll(() => {
  out = mkdtempSync("/tmp/ato-deploy-deb-");
  // The suite has built dist/ already (scripts/test.sh).
  const p = Bun.spawnSync(["bash", `${ROOT}/scripts/package.sh`, "--no-build", "--out", out], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`scripts/package.sh failed:\n${p.stdout}${p.stderr}`);
  deb = `${out}/${readdirSync(out).find((f) => f.endsWith(".deb"))}`;
  // The bare root has libelf1 as apt would bring it (dpkg -i resolves no dependency) and SoftHSM as the host's HSM.
  host = bareRoot("deb");
  copyFileSync(deb, `${host.dir}/tmp/ato.deb`);
}, 600_000);

afterAll(() => {
  host?.remove();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe("[root] the .deb", () => {
  test("names the package, its dependencies and what it holds", () => {
    const info = Bun.spawnSync(["dpkg-deb", "--field", deb, "Package", "Depends"]).stdout.toString();
    expect(info).toContain("Package: ato");
    expect(info).toMatch(/Depends: .*libelf1/);
    const files = Bun.spawnSync(["dpkg-deb", "--contents", deb]).stdout.toString();
    for (const f of ["./usr/bin/ato", "./usr/lib/ato/ato", "./lib/systemd/system/ato.service", "./etc/ato/ato.env"]) expect(files).toContain(f);
  });

  test("installs into a minbase root, where ato version runs and the user and directories exist", () => {
    const i = inRoot(["dpkg", "-i", "/tmp/ato.deb"]);
    expect(i.code, i.out).toBe(0);
    const v = inRoot(["ato", "version"]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/libbpf\s+1\./);
    expect(inRoot(["id", "-nG", "ato"]).out.trim().split(/\s+/).sort()).toEqual(["ato", "softhsm"]);
    expect(inRoot(["getent", "passwd", "ato"]).out).toMatch(/^ato:x:\d+:\d+::\/nonexistent:\/usr\/sbin\/nologin$/m);
    expect(inRoot(["stat", "-c", "%U:%G %a", "/var/log/ato", "/etc/ato", "/etc/ato/ato.env"]).out.trim().split("\n"))
      .toEqual(["ato:ato 750", "root:ato 750", "root:ato 640"]);
  });

  test("/usr/bin/ato is the launcher: on a CPU without SSE4.2 and POPCNT it says so in one line and exits 69", () => {
    expect(inRoot(["head", "-c", "10", "/usr/bin/ato"]).out).toBe("#!/bin/sh\n");
    // This host's own flags, less the two the runtime needs: the launcher must name exactly those.
    const v1 = `${out}/cpuinfo-v1`;
    writeFileSync(v1, readFileSync("/proc/cpuinfo", "utf8").replace(/^(flags\s*:.*)$/gm, (l) => l.replace(/ (sse4_2|popcnt)(?= |$)/g, "")));
    expect(inRoot(["ato", "version"], v1)).toEqual({
      code: 69,
      out: "ato: this CPU lacks sse4_2 popcnt, which ato needs (x86-64-v2: SSE4.2 and POPCNT); in a VM, give it the host's CPU model or x86-64-v2 instead of qemu64/kvm64\n",
    });
    const v2 = `${out}/cpuinfo-no-popcnt`;
    writeFileSync(v2, readFileSync("/proc/cpuinfo", "utf8").replace(/^(flags\s*:.*)$/gm, (l) => l.replace(/ popcnt(?= |$)/g, "")));
    expect(inRoot(["ato", "version"], v2).out).toStartWith("ato: this CPU lacks popcnt, which");
  });

  test("reinstalling it over itself (an upgrade in place) keeps the user and the evidence", () => {
    writeFileSync(`${host!.dir}/var/log/ato/kept.log`, "evidence\n");
    const uid = inRoot(["id", "-u", "ato"]).out;
    const i = inRoot(["dpkg", "-i", "/tmp/ato.deb"]);
    expect(i.code, i.out).toBe(0);
    expect(inRoot(["id", "-u", "ato"]).out).toBe(uid);
    expect(inRoot(["cat", "/var/log/ato/kept.log"]).out).toBe("evidence\n");
  });

  test("the installed unit passes systemd-analyze verify, with the installed /usr/bin/ato", () => {
    // The unit names /usr/bin/ato and /usr/bin/install: the root's own /usr/bin is laid over the
    // host's in a private mount namespace, so verify sees the packaged binary and the host's units.
    const unit = `${host!.dir}/lib/systemd/system/ato.service`;
    const script = `set -e; mount -t overlay overlay -o "lowerdir=$1/usr/bin:/usr/bin" /usr/bin; exec systemd-analyze verify "$2"`;
    const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", host!.dir, unit], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() }).toEqual({ code: 0, out: "" });
  });
});
