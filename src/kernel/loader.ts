/**
 * Loads bpf/xdp_audit.o, pins its maps under a pin directory, writes the config map and
 * attaches the program to interfaces. It observes only (the program always passes every
 * packet), so it refuses to displace another tool's XDP program, but replaces a stale copy
 * of itself left attached by a crashed run.
 */
import { mkdirSync } from "node:fs";
import { AtoError } from "../errors.ts";
import {
  BpfObject, closeFd, mapUpdate, progFdById, progInfo, xdpAttach, xdpDetach, xdpQueryId, XDP_FLAGS, errnoName,
} from "../../ffi/libbpf.ts";
import { encodeConfig, type AuditConfig } from "./layout.ts";
import { ifindexOf, requireBpffs } from "./system.ts";
import { lacking, NEEDED } from "./caps.ts";

export const PROGRAM_NAME = "xdp_audit";
export const MAPS = { flows: "flow_map", counters: "audit_counters", config: "audit_config", events: "audit_events" } as const;

export type AttachMode = "auto" | "drv" | "skb" | "hw";
type ConcreteMode = Exclude<AttachMode, "auto">;
const MODE_FLAGS: Record<ConcreteMode, number> = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE };
const MODE_NAMES: Record<ConcreteMode, string> = { drv: "native (drv)", skb: "generic (skb)", hw: "offloaded (hw)" };

export const DEFAULT_CONFIG: AuditConfig = {
  spikeWindowNs: 1_000_000_000n,
  spikeThreshold: 0,
  timingEnabled: false,
  timingMinSamples: 32,
  tscoreThreshold: 4,
  overflowIntervalNs: 1_000_000_000n,
};

export interface Attachment {
  iface: string;
  ifindex: number;
  mode: ConcreteMode;
  /** What happened to a program found on the interface: a stale copy of ato replaced, or nothing. */
  replaced: boolean;
}

export interface LoadOptions {
  objectPath: string;
  pinDir: string;
  maxFlows?: number;
}

export class XdpAuditor {
  readonly attachments: Attachment[] = [];

  private constructor(private readonly obj: BpfObject, readonly pinDir: string, readonly progFd: number) {}

  /** Opens and verifies the object; maps already pinned under pinDir are reused, so counts survive restarts. */
  static load(opts: LoadOptions): XdpAuditor {
    requireBpffs(opts.pinDir);
    mkdirSync(opts.pinDir, { recursive: true, mode: 0o700 });
    // libbpf cannot load an object twice, so an interrupted load is retried on a fresh copy
    // (its maps were unpinned by the failed attempt, or are reused pins).
    for (let attempt = 1; ; attempt++) {
      const obj = BpfObject.open(opts.objectPath, {
        pinRoot: opts.pinDir,
        maxEntries: opts.maxFlows ? { [MAPS.flows]: opts.maxFlows } : undefined,
      });
      try {
        obj.load();
        return new XdpAuditor(obj, opts.pinDir, obj.programFd(PROGRAM_NAME));
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
