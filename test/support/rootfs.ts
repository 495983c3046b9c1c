/**
 * A bare Debian root filesystem for tests of what a host without the build tools gets:
 * debootstrap's minbase variant of bookworm (needs root and Debian's mirror), plus only the
 * packages asked for. remove() clears the append-only attribute ato may have set inside first.
 */
import { mkdtempSync, rmSync } from "node:fs";

export interface Rootfs {
  dir: string;
  remove(): void;
}

export function debootstrapMinbase(tag: string, include: string[] = []): Rootfs {
  const dir = mkdtempSync(`/tmp/ato-${tag}-rootfs-`);
  const remove = () => {
    Bun.spawnSync(["chattr", "-R", "-a", dir], { stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  const args = ["debootstrap", "--variant=minbase", ...(include.length ? [`--include=${include.join(",")}`] : []), "bookworm", dir, "http://deb.debian.org/debian"];
  const r = Bun.spawnSync(args, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) {
    remove();
    throw new Error(`debootstrap failed: ${r.stderr.toString().slice(-2000)}`);
  }
  return { dir, remove };
}
