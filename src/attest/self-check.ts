/**
 * SelfCheck: is the kernel still running what this agent loaded? Taken at load: the program's id, tag and name,
 * the id of each map the agent holds and the pin it sits under, each interface and its attach mode. Checked each
 * interval (check()), against the kernel itself:
 *   detached      the interface runs no XDP program in that mode: re-attached at once (the slot is free, so
 *                 nothing is displaced); the finding says whether that worked
 *   replaced      it runs another program (another id): left in place, ato never displaces a program, and
 *                 says so; the finding names the other program's id, tag and name
 *   map_unpinned  the pin of one of its maps is gone (readers such as `ato flows` then see nothing): the
 *                 agent's own map is pinned there again (only the map it still holds, by the same id)
 *   map_swapped   the pin names another map (a reader of the pin is lied to; the program still writes ours):
 *                 the other map's pin is moved aside (<pin>_displaced_<id>, never deleted) and ours re-pinned;
 *                 the finding names both
 * A pin is looked at through its inode each interval (one stat): bpffs binds an inode to one object for the
 * inode's whole life, and removing, replacing or renaming a pin puts another inode at the path or changes its
 * change time, so while device, inode number and ctime are those seen when the pin last named our map, it still
 * does. Only when they differ, or every FULL_LOOK_EVERY looks (an inode number can be recycled), is the pin
 * opened and its map's id read (three syscalls, an fd).
 * A finding is reported once when the state it describes begins, and again only when that state changes, so a
 * replacement left in place is one record, not one per interval. What this cannot see: a program that is
 * attached in another mode beside ours (it runs first in drv, ours still runs), changes made and undone
 * between two checks, and writes into our maps through their fds (that is the conservation check's part).
 * The agent's other programs (helpers: the conservation check's flow-sum walk, attached nowhere, held by its fd so
 * its id cannot be reused) are recorded by id, tag and name beside the XDP program, so a listing of the kernel's
 * programs finds them accounted for as ours.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { XdpQuery } from "../kernel/xdp-query.ts";
import { attachedProgram, mapId, pinnedMapId, programIdentity, reattachIfFree, repinMap, type ProgramIdentity, type XdpAttachMode } from "../kernel/identity.ts";

export interface WatchedKernel {
  progFd: number;
  pinDir: string;
  attachments: readonly { iface: string; ifindex: number; mode: XdpAttachMode }[];
  /** Map name (as pinned) → the fd the agent holds. */
  maps: Record<string, number>;
  /** Other programs of the agent's own, loaded but attached nowhere (role → fd): recorded, so they are known as ours. */
  helpers?: Record<string, number>;
}

export interface KernelIdentity {
  program: ProgramIdentity;
  interfaces: { iface: string; ifindex: number; mode: XdpAttachMode }[];
  maps: { name: string; id: number; pin: string }[];
  /** The agent's other programs (the conservation check's flow-sum walk), attached nowhere; absent when none. */
  helpers?: (ProgramIdentity & { role: string })[];
}

export type TamperKind = "detached" | "replaced" | "map_unpinned" | "map_swapped" | "counts_missing" | "counts_added";

export interface TamperFinding {
  tamper: TamperKind;
  /** The interface or the map. */
  subject: string;
  expected: Record<string, unknown>;
  found: Record<string, unknown> | null;
  action: string;
}

export class SelfCheck {
  private readonly last = new Map<string, string>();
  /** Per pin, its inode (pinMark) when it was last seen naming our map. */
  private readonly ours = new Map<string, string>();
  /** Pins opened to read their map's id (the inode had changed, or was never seen, or a full look): for tests. */
  pinsOpened = 0;
  /** Looks so far: every FULL_LOOK_EVERY-th opens every pin whatever its inode says. */
  private looks = 0;
  /** The interfaces' XDP programs, asked on one netlink socket kept open (xdp-query.ts). */
  readonly xdp = new XdpQuery();

  private constructor(private readonly k: WatchedKernel, readonly identity: KernelIdentity) {}

  static start(k: WatchedKernel): SelfCheck {
    const identity: KernelIdentity = {
      program: programIdentity(k.progFd),
      interfaces: k.attachments.map((a) => ({ iface: a.iface, ifindex: a.ifindex, mode: a.mode })),
      maps: Object.entries(k.maps).map(([name, fd]) => ({ name, id: mapId(fd), pin: join(k.pinDir, name) })).sort((a, b) => a.name.localeCompare(b.name)),
    };
    const helpers = Object.entries(k.helpers ?? {}).map(([role, fd]) => ({ role, ...programIdentity(fd) }));
    if (helpers.length) identity.helpers = helpers;
    return new SelfCheck(k, identity);
  }

  /** The id of the map pinned at `m.pin` (null: none), by its inode while that is the one last seen naming ours. */
  private pinnedId(m: { id: number; pin: string }): number | null {
    const mark = pinMark(m.pin);
    if (mark !== undefined && this.ours.get(m.pin) === mark && this.looks % FULL_LOOK_EVERY !== 0) return m.id;
    this.pinsOpened++;
    const id = pinnedMapId(m.pin);
    // Kept only when the inode did not move while the pin was opened: it is then the one that named our map.
    if (id === m.id && mark !== undefined && pinMark(m.pin) === mark) this.ours.set(m.pin, mark);
    else this.ours.delete(m.pin);
    return id;
  }

  private repin(m: { name: string; id: number; pin: string }, foreign: number | null): string {
    const fd = this.k.maps[m.name];
    const action = fd === undefined ? "not re-pinned: the agent holds no fd for it" : repinAction(fd, m, foreign);
    // put back: the next look finds ours again, and a later removal or swap is a new finding
    if (pinnedMapId(m.pin) === m.id) this.last.set(m.pin, "ok");
    return action;
  }

  /** Closes the netlink socket (the agent's stop). */
  close(): void {
    this.xdp.close();
  }

  /** One look at the kernel; the findings that are new since the last look. */
  check(): TamperFinding[] {
    const out: TamperFinding[] = [];
    this.looks++;
    const ours = this.identity.program;
    for (const a of this.identity.interfaces) {
      const subject = `${a.iface} (${a.mode})`;
      // the id alone says it is ours (ids are never reused while our fd holds the program); the other
      // program's tag and name are read only when it is not
      const id = this.xdp.programId(a.ifindex, a.mode);
      if (id === ours.id) {
        this.last.set(subject, "ok");
        continue;
      }
      const found = attachedProgram(a.ifindex, a.mode, id);
      if (found?.id === ours.id) {
        this.last.set(subject, "ok");
        continue;
      }
      const state = found ? `replaced:${found.id}` : "detached";
      if (this.last.get(subject) === state) continue;
      this.last.set(subject, state);
      if (!found) {
        const r = reattachIfFree(a.ifindex, this.k.progFd, a.mode);
        // re-attached: the next look finds ours again, and a later detach is a new finding
        if (r === 0) this.last.set(subject, "ok");
        out.push({ tamper: "detached", subject, expected: { ...ours }, found: null, action: r === 0 ? "re-attached" : `could not re-attach (errno ${-r})` });
      } else {
        out.push({ tamper: "replaced", subject, expected: { ...ours }, found: { ...found }, action: "left in place: ato never displaces a program it did not attach" });
      }
    }
    for (const m of this.identity.maps) {
      const id = this.pinnedId(m);
      const state = id === m.id ? "ok" : id === null ? "unpinned" : `swapped:${id}`;
      if (this.last.get(m.pin) === state || (state === "ok" && !this.last.has(m.pin))) {
        this.last.set(m.pin, state);
        continue;
      }
      this.last.set(m.pin, state);
      if (state === "ok") continue; // put back: nothing new to say
      out.push({
        tamper: id === null ? "map_unpinned" : "map_swapped", subject: m.pin, expected: { map: m.name, id: m.id },
        found: id === null ? null : { id }, action: this.repin(m, id),
      });
    }
    return out;
  }
}

/**
 * The agent's own map back under its pin: only the map this agent still holds (same id), and another map
 * found there is moved aside, never deleted. Until then the program keeps writing the agent's map; readers of
 * the pin (ato flows, a restart) would see nothing or someone else's.
 */
function repinAction(fd: number, m: { name: string; id: number; pin: string }, foreign: number | null): string {
  try {
    const r = repinMap(fd, m.id, m.pin);
    return r.displaced ? `re-pinned the agent's own map (id ${m.id}); the other map's pin (id ${foreign}) moved aside to ${r.displaced}, not deleted` : `re-pinned the agent's own map (id ${m.id})`;
  } catch (e) {
    if (!(e instanceof AtoError && (e.code === "BPF" || e.code === "IO" || e.code === "NOT_FOUND" || e.code === "PERMISSION"))) throw e;
    return `not re-pinned: ${e.message}; the program keeps writing the agent's own map, readers of the pin do not see it`;
  }
}

/**
 * Every pin is opened at least this often (in looks, one an interval), its inode notwithstanding. The inode
 * shortcut can be fooled by root with time to spare: bpffs numbers inodes from a 32-bit counter it shares with
 * sockets and pipes (get_next_ino), which can be driven round in about an hour, and a pin's ctime ticks with the
 * kernel's coarse clock, which CAP_SYS_TIME can set back; a map pinned under a recycled number with a matching
 * ctime would then pass for ours. A full look bounds such a miss to this many intervals.
 */
const FULL_LOOK_EVERY = 60;

/** The pin's inode: device, number and change time; undefined when it cannot be stat'ed (the full look then says why). */
function pinMark(path: string): string | undefined {
  try {
    // Numbers, not BigInts: an inode number below 2^32 and a ctime in ms of the kernel's coarse clock fit a double exactly enough.
    const s = statSync(path, { throwIfNoEntry: false });
    return s && `${s.dev}:${s.ino}:${s.ctimeMs}`;
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException).code !== "string") throw e;
    return undefined; // EACCES, ENOTDIR…: the full look reports it
  }
}

/** A kernel query that failed (EPERM, an interface gone) is itself something to report, not a crash. */
export function isKernelQueryError(e: unknown): e is AtoError {
  return e instanceof AtoError && (e.code === "BPF" || e.code === "NOT_FOUND" || e.code === "PERMISSION");
}
