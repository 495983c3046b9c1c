/**
 * The agent's kernel side: load, configure and attach the XDP program on every interface,
 * stream its ring-buffer events, and detach on the way out (also when attaching a later
 * interface fails, so a failed start leaves nothing attached). Stopping is two steps: detach
 * (nothing more is counted or raised; the maps stay open for a last read), then close.
 */
import { readlinkSync } from "node:fs";
import { AgentLock, bpfObjectName, ifindexOf, DEFAULT_CONFIG, EventStream, XdpAuditor, modeName, type AttachMode, type AuditConfig, type AuditEvent } from "../kernel/index.ts";
import { log } from "./log.ts";

export interface KernelOptions {
  ifaces: string[];
  mode: AttachMode;
  pinDir: string;
  objectPath: string;
  /** The build for kernels before 5.12 (none when the user named an object). */
  fallbackPath?: string;
  maxFlows?: number;
  config: Partial<AuditConfig>;
}

export class KernelPlane {
  private events?: EventStream;

  private constructor(readonly auditor: XdpAuditor, private readonly lock: AgentLock) {}

  static start(opts: KernelOptions, onEvent: (e: AuditEvent) => void): KernelPlane {
    opts.ifaces.forEach(ifindexOf); // an unknown interface is named before anything is locked or loaded
    const lock = AgentLock.acquire([
      { key: `pin-${opts.pinDir}`, what: `pin directory ${opts.pinDir}` },
      ...opts.ifaces.map((i) => ({ key: `iface-${netnsId()}-${i}`, what: `interface ${i}` })),
    ]);
    let auditor: XdpAuditor | undefined;
    try {
      auditor = XdpAuditor.load({ objectPath: opts.objectPath, fallbackPath: opts.fallbackPath, pinDir: opts.pinDir, maxFlows: opts.maxFlows });
      const fb = auditor.object.fallback;
      if (fb) log(`loaded the compatibility XDP object ${bpfObjectName(auditor.object.path)}: ${fb.reason}`, { refused: bpfObjectName(fb.refused) });
      auditor.configure({ ...DEFAULT_CONFIG, ...opts.config });
      const plane = new KernelPlane(auditor, lock);
      plane.events = new EventStream(auditor.mapFd("events"), onEvent);
      for (const iface of opts.ifaces) {
        const a = auditor.attach(iface, opts.mode);
        log(`XDP audit hook attached on ${iface} with mode=${a.mode}`, {
          how: modeName(a.mode), replaced_stale: a.replaced || undefined, pin_dir: opts.pinDir,
        });
      }
      return plane;
    } catch (e) {
      auditor?.close();
      lock.release();
      throw e;
    }
  }

  /** Delivers pending ring-buffer events to the callback given at start. */
  drainEvents(): number {
    return this.events?.drain() ?? 0;
  }

  /** Takes the program off every interface; the maps and the ring buffer stay readable. */
  detach(): void {
    const ifaces = this.auditor.attachments.map((a) => a.iface);
    this.auditor.detachAll();
    for (const iface of ifaces) log(`detached from ${iface}`);
  }

  /** Detaches if still attached, frees the ring buffer and the object, releases the lock. Events not drained are dropped. */
  close(): void {
    this.detach();
    this.events?.close();
    this.auditor.close();
    this.lock.release();
  }
}

/** Interfaces are per network namespace: the lock key includes the namespace's inode. */
function netnsId(): string {
  try {
    return readlinkSync("/proc/self/ns/net").replace(/\D/g, "");
  } catch {
    return "0";
  }
}
