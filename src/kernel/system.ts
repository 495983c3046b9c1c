/** What the kernel plane needs to know about the host: interfaces and the BPF filesystem. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AtoError } from "../errors.ts";
import { ifIndexToName, ifNameToIndex } from "../../ffi/libc.ts";

/** The interface's index in this network namespace, or a clear error naming the interface. */
export function ifindexOf(iface: string): number {
  if (!/^[\w.@:-]{1,15}$/.test(iface)) throw new AtoError(`invalid interface name '${iface}'`, "USAGE");
  const index = ifNameToIndex(iface);
  if (!index) throw new AtoError(`unknown interface '${iface}' (ip -br link lists the interfaces of this network namespace)`, "NOT_FOUND");
  return index;
}

export function ifaceName(ifindex: number): string {
  return ifIndexToName(ifindex) ?? `if${ifindex}`;
}

/** Pinned maps must live on a bpffs mount; a plain directory silently fails at pin time. */
export function requireBpffs(dir: string): void {
  const path = resolve(dir);
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" "));
  const bpf = mounts.filter((m) => m[2] === "bpf").map((m) => m[1]!);
  if (!bpf.some((mp) => path === mp || path.startsWith(`${mp}/`))) {
    throw new AtoError(
      `${path} is not on a BPF filesystem (bpffs is not mounted there: mount -t bpf bpf /sys/fs/bpf)`,
      "NOT_FOUND",
    );
  }
}
