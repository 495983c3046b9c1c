/**
 * What the kernel says is running: the program an interface runs in a mode, a program's id, tag and name, the
 * map a pin on bpffs names. The self-attestation (src/attest/self-check.ts) compares these with what the
 * agent loaded. Every fd opened here is closed here.
 */
import { AtoError } from "../errors.ts";
import { closeFd, mapInfo, objGet, progFdById, progInfo, xdpAttach, xdpQueryId, XDP_FLAGS, type ProgInfo } from "../../ffi/libbpf.ts";

export type XdpAttachMode = "drv" | "skb" | "hw";
const MODE_FLAGS: Record<XdpAttachMode, number> = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE };

export type ProgramIdentity = Pick<ProgInfo, "id" | "tag" | "name">;

export function programIdentity(progFd: number): ProgramIdentity {
  const i = progInfo(progFd);
  return { id: i.id, tag: i.tag, name: i.name };
}

/** The program attached to `ifindex` in `mode`, or null when none is. */
export function attachedProgram(ifindex: number, mode: XdpAttachMode): ProgramIdentity | null {
  const id = xdpQueryId(ifindex, MODE_FLAGS[mode]);
  if (!id) return null;
  let fd: number;
  try {
    fd = progFdById(id);
  } catch (e) {
    if (e instanceof AtoError && e.code === "NOT_FOUND") return { id, tag: "", name: "" }; // gone between the two calls
    throw e;
  }
  try {
    return programIdentity(fd);
  } finally {
    closeFd(fd);
  }
}

export function mapId(mapFd: number): number {
  return mapInfo(mapFd).id;
}

/** The id of the map pinned at `path`, or null when nothing is pinned there. */
export function pinnedMapId(path: string): number | null {
  let fd: number;
  try {
    fd = objGet(path);
  } catch (e) {
    if (e instanceof AtoError && e.code === "NOT_FOUND") return null;
    throw e;
  }
  try {
    return mapInfo(fd).id;
  } finally {
    closeFd(fd);
  }
}

/** Attaches `progFd` to an interface that has no XDP program in that mode; never displaces one. 0 or -errno. */
export function reattachIfFree(ifindex: number, progFd: number, mode: XdpAttachMode): number {
  return xdpAttach(ifindex, progFd, MODE_FLAGS[mode] | XDP_FLAGS.UPDATE_IF_NOEXIST);
}
