/**
 * What the kernel says is running: the program an interface runs in a mode, a program's id, tag and name, the
 * map a pin on bpffs names. The self-attestation (src/attest/self-check.ts) compares these with what the
 * agent loaded. Every fd opened here is closed here.
 */
import { mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";
import { closeFd, mapInfo, objGet, objPin, progFdById, progInfo, xdpAttach, xdpQueryId, XDP_FLAGS, type ProgInfo } from "../../ffi/libbpf.ts";

export type XdpAttachMode = "drv" | "skb" | "hw";
const MODE_FLAGS: Record<XdpAttachMode, number> = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE };

export type ProgramIdentity = Pick<ProgInfo, "id" | "tag" | "name">;

export function programIdentity(progFd: number): ProgramIdentity {
  const i = progInfo(progFd);
  return { id: i.id, tag: i.tag, name: i.name };
}

/** The id of the program attached to `ifindex` in `mode`, 0 when none is (one netlink query, no fd). */
export function attachedProgramId(ifindex: number, mode: XdpAttachMode): number {
  return xdpQueryId(ifindex, MODE_FLAGS[mode]);
}

/** The program attached to `ifindex` in `mode`, or null when none is; `knownId`: the id a query just gave. */
export function attachedProgram(ifindex: number, mode: XdpAttachMode, knownId?: number): ProgramIdentity | null {
  const id = knownId ?? xdpQueryId(ifindex, MODE_FLAGS[mode]);
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

/**
 * Puts the agent's own map (`mapFd`, which must still be map `expectedId`) back under `path`. A pin that names
 * another map is not deleted: it is moved aside to `${path}_displaced_<its id>` (bpffs refuses a dot in a name), so whoever put it there keeps
 * it (and the evidence of it). Returns what was done, or throws AtoError (BPF, IO) when it could not be.
 */
export function repinMap(mapFd: number, expectedId: number, path: string): { displaced?: string } {
  const held = mapId(mapFd);
  if (held !== expectedId) throw new AtoError(`the agent's fd for ${path} now holds map ${held}, not ${expectedId}: not re-pinned`, "BPF");
  const other = pinnedMapId(path);
  if (other === expectedId) return {};
  let displaced: string | undefined;
  if (other !== null) {
    displaced = `${path}_displaced_${other}`;
    try {
      renameSync(path, displaced);
    } catch (e) {
      throw new AtoError(`cannot move the other map's pin ${path} aside to ${displaced}: ${(e as Error).message}`, "IO", { cause: e });
    }
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new AtoError(`cannot recreate the pin directory ${dirname(path)}: ${(e as Error).message}`, "IO", { cause: e });
  }
  objPin(mapFd, path);
  return { displaced };
}
