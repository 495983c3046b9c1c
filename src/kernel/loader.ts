/**
 * Loads bpf/xdp_audit.o, pins its maps under a pin directory, writes the config map and
 * attaches the program to interfaces. It observes only (the program always passes every
 * packet), so it refuses to displace another tool's XDP program, but replaces a stale copy
 * of itself left attached by a crashed run.
 */
import { existsSync, mkdirSync } from "node:fs";
import { AtoError } from "../errors.ts";
import {
  BpfObject, closeFd, mapInfo, mapUpdate, objGet, progFdById, progInfo, xdpAttach, xdpDetach, xdpQueryId, XDP_FLAGS, errnoName,
} from "../../ffi/libbpf.ts";
import { SETTINGS, type XdpMode } from "../config/index.ts";
import { encodeConfig, type AuditConfig } from "./layout.ts";
import { ifindexOf, requireBpffs } from "./system.ts";
import { lacking, NEEDED } from "./caps.ts";
import { refusedGlobalFunction } from "./fallback.ts";

export const PROGRAM_NAME = "xdp_audit";
export const MAPS = { flows: "flow_map", counters: "audit_counters", config: "audit_config", events: "audit_events" } as const;

export type AttachMode = XdpMode;
type ConcreteMode = Exclude<AttachMode, "auto">;
const MODE_FLAGS: Record<ConcreteMode, number> = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE };
const MODE_NAMES: Record<ConcreteMode, string> = { drv: "native (drv)", skb: "generic (skb)", hw: "offloaded (hw)" };

/** The config map's contents when `ato run` sets nothing: the settings table's defaults. */
export const DEFAULT_CONFIG: AuditConfig = {
  spikeWindowNs: BigInt(SETTINGS.spikeWindowMs.default) * 1_000_000n,
  spikeThreshold: SETTINGS.spikeThreshold.default,
  timingEnabled: SETTINGS.timingAudit.default,
  timingMinSamples: SETTINGS.timingMinSamples.default,
  tscoreThreshold: SETTINGS.tscore.default,
  overflowIntervalNs: 1_000_000_000n,
};

/**
 * Flow maps up to this many entries (the default size) are preallocated; larger ones are not
 * (BPF_F_NO_PREALLOC). A preallocated per-CPU hash allocates every entry's value on every CPU
 * when it is created: in bench-kernel a 1 M-flow map took 1.3-2.1 s to load, 128 k flows
 * ~0.34 s, 64 k well under 0.3 s, and all that memory is held with no flow yet. Without
 * preallocation 1 M flows load in ~0.13 s and memory follows the flows, but each flow's first
 * packet allocates its entry: ~+1.0 us per new flow (bench-kernel "many flows, insert": ~1.3 us
 * beside ~0.3 us), while warm and cold lookups of existing flows cost the same. So maps of the
 * default size keep cheap inserts (a flood of new flows is what an auditor must absorb) and
 * larger ones, asked for by hosts with many flows, start in time.
 */
export const PREALLOC_MAX_FLOWS = 65_536;
const BPF_F_NO_PREALLOC = 1;

/**
 * The flow map's flags: an override, else those of the map already pinned (libbpf reuses a pin
 * only when its flags match, so counts survive a restart whatever the size rule was), else by size.
 */
function flowMapFlags(opts: LoadOptions): number {
  if (opts.flowMapFlags !== undefined) return opts.flowMapFlags;
  const pin = `${opts.pinDir}/${MAPS.flows}`;
  if (existsSync(pin)) {
    const fd = objGet(pin);
    try {
      return mapInfo(fd).flags;
    } finally {
      closeFd(fd);
    }
  }
  return (opts.maxFlows ?? SETTINGS.maxFlows.default) > PREALLOC_MAX_FLOWS ? BPF_F_NO_PREALLOC : 0;
}

export interface Attachment {
  iface: string;
  ifindex: number;
  mode: ConcreteMode;
  /** What happened to a program found on the interface: a stale copy of ato replaced, or nothing. */
  replaced: boolean;
}

export interface LoadOptions {
  objectPath: string;
  /** The build for kernels before 5.12, loaded only when the kernel refuses objectPath's global function. */
  fallbackPath?: string;
  pinDir: string;
  maxFlows?: number;
  /** The flow map's BPF_F_* flags in place of the object's (bench-kernel compares preallocation). */
  flowMapFlags?: number;
}

/** Which object runs: the one asked for, or the fallback and why the kernel refused the first. */
export interface LoadedObject {
  path: string;
  fallback?: { refused: string; reason: string };
}

export class XdpAuditor {
  readonly attachments: Attachment[] = [];

  private constructor(private readonly obj: BpfObject, readonly pinDir: string, readonly progFd: number, readonly object: LoadedObject) {}

  /**
   * Opens and verifies the object; maps already pinned under pinDir are reused, so counts survive restarts.
   * A kernel that refuses its global function (before 5.12) gets the fallback object, which has the same maps.
   */
  static load(opts: LoadOptions): XdpAuditor {
    try {
      return XdpAuditor.loadObject(opts, { path: opts.objectPath });
    } catch (e) {
      const fn = opts.fallbackPath ? refusedGlobalFunction(e) : undefined;
      if (!fn) throw e;
      return XdpAuditor.loadObject({ ...opts, objectPath: opts.fallbackPath! }, {
        path: opts.fallbackPath!,
        fallback: { refused: opts.objectPath, reason: `this kernel's verifier does not take pointer arguments in the global function ${fn}() (needs Linux 5.12)` },
      });
    }
  }

  private static loadObject(opts: LoadOptions, object: LoadedObject): XdpAuditor {
    requireBpffs(opts.pinDir);
    mkdirSync(opts.pinDir, { recursive: true, mode: 0o700 });
    // libbpf cannot load an object twice, so an interrupted load is retried on a fresh copy
    // (its maps were unpinned by the failed attempt, or are reused pins).
    for (let attempt = 1; ; attempt++) {
      const obj = BpfObject.open(opts.objectPath, {
        pinRoot: opts.pinDir,
        maxEntries: opts.maxFlows ? { [MAPS.flows]: opts.maxFlows } : undefined,
        mapFlags: { [MAPS.flows]: flowMapFlags(opts) },
      });
      try {
        obj.load();
        return new XdpAuditor(obj, opts.pinDir, obj.programFd(PROGRAM_NAME), object);
      } catch (e) {
        obj.close();
        if (e instanceof AtoError && e.code === "BUSY" && attempt < 5) continue;
        if (e instanceof AtoError && (e.code === "PERMISSION" || e.code === "VERIFIER")) throwIfLackingCaps(e);
        if (e instanceof AtoError && e.code === "BPF" && /Invalid argument/.test(e.message)) {
          throw new AtoError(
            `${e.message}; maps pinned in ${opts.pinDir} by an older ato or with another --max-flows may not match: remove that directory to start fresh`,
            "BPF", { cause: e },
          );
        }
        throw e;
      }
    }
  }

  mapFd(name: keyof typeof MAPS): number {
    return this.obj.mapFd(MAPS[name]);
  }

  /** Thresholds and switches take effect on the next packet, without a reload. */
  configure(config: AuditConfig): void {
    mapUpdate(this.mapFd("config"), new Uint8Array(4), encodeConfig(config));
  }

  /** Attaches to one interface; `auto` tries native first, then generic. */
  attach(iface: string, mode: AttachMode): Attachment {
    const ifindex = ifindexOf(iface);
    const replaced = this.removeStaleCopy(iface, ifindex);
    const tries: ConcreteMode[] = mode === "auto" ? ["drv", "skb"] : [mode];
    let lastErr = 0;
    for (const m of tries) {
      const r = xdpAttach(ifindex, this.progFd, MODE_FLAGS[m] | XDP_FLAGS.UPDATE_IF_NOEXIST);
      if (r === 0) {
        const a = { iface, ifindex, mode: m, replaced };
        this.attachments.push(a);
        return a;
      }
      lastErr = -r;
      if (lastErr === 1) throw new AtoError(`attaching XDP to ${iface}: ${errnoName(1)} (needs CAP_NET_ADMIN)`, "PERMISSION");
    }
    const hint = mode === "auto" ? "" : mode === "hw"
      ? " (offload needs a NIC and driver that support it; try --mode drv or skb)"
      : mode === "drv" ? " (the driver may lack native XDP; try --mode skb)" : "";
    throw new AtoError(`cannot attach XDP in ${mode} mode to ${iface}: ${errnoName(lastErr)}${hint}`, "BPF");
  }

  /** Detaches only our own program from every interface it was attached to. */
  detachAll(): void {
    for (const a of this.attachments.splice(0)) {
      xdpDetach(a.ifindex, MODE_FLAGS[a.mode], this.progFd);
    }
  }

  close(): void {
    this.detachAll();
    this.obj.close();
  }

  /**
   * A program found on the interface: ato's own (by name) is detached so ours can take its
   * place; another tool's is left alone and the attach is refused.
   */
  private removeStaleCopy(iface: string, ifindex: number): boolean {
    let replaced = false;
    for (const m of ["drv", "skb", "hw"] as ConcreteMode[]) {
      const id = xdpQueryId(ifindex, MODE_FLAGS[m]);
      if (!id) continue;
      const fd = progFdById(id);
      try {
        const info = progInfo(fd);
        if (info.name !== PROGRAM_NAME) {
          throw new AtoError(
            `${iface} already has another XDP program attached ('${info.name}', id ${id}, ${MODE_NAMES[m]}); ato only observes and will not replace it`,
            "BUSY",
          );
        }
        const r = xdpDetach(ifindex, MODE_FLAGS[m], fd);
        if (r < 0) throw new AtoError(`cannot remove a stale ato program from ${iface}: ${errnoName(-r)}`, "BPF");
        replaced = true;
      } finally {
        closeFd(fd);
      }
    }
    return replaced;
  }
}

/**
 * A refused load names the capability this process lacks. Without CAP_BPF or CAP_NET_ADMIN the
 * kernel says EPERM; without CAP_PERFMON the verifier rejects the parser's pointer arithmetic,
 * which reads like a bug in the program: both become one line naming what is missing.
 */
function throwIfLackingCaps(e: AtoError): void {
  const why = lacking();
  if (!why) return;
  const what = e.code === "VERIFIER" ? "the BPF verifier rejected the XDP program" : "loading the XDP program: operation not permitted";
  throw new AtoError(`${what}: ${why}; ${NEEDED}`, "PERMISSION", { cause: e });
}

export function modeName(m: ConcreteMode): string {
  return MODE_NAMES[m];
}
