/**
 * A bare Debian root filesystem for tests of what a host without the build tools gets: a copy of
 * the one cached minbase bookworm root (scripts/rootfs-cache.sh: libc6, libelf1, zlib1g, SoftHSM2,
 * iproute2, no libbpf on the library path), which debootstrap makes once per recipe (needs root and
 * Debian's mirror then) and each test unpacks into a directory of its own. remove() clears the
 * append-only attribute ato may have set inside first.
 */
import { mkdtempSync, rmSync } from "node:fs";

export interface Rootfs {
  dir: string;
  remove(): void;
}

const SCRIPT = `${import.meta.dir}/../../scripts/rootfs-cache.sh`;

export function bareRoot(tag: string): Rootfs {
  const dir = mkdtempSync(`/tmp/ato-${tag}-rootfs-`);
  const remove = () => {
    Bun.spawnSync(["chattr", "-R", "-a", dir], { stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  const r = Bun.spawnSync(["bash", SCRIPT, dir], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) {
    remove();
    throw new Error(`scripts/rootfs-cache.sh failed: ${r.stderr.toString().slice(-2000)}`);
  }
  return { dir, remove };
}
