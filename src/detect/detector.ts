/**
 * Online anomaly detection on flows, fed once per collection cycle with that cycle's flows. Per service
 * (interface, protocol, destination port) and per (masked) source it keeps EWMA baselines of new connections
 * per second, bytes per second and the share of failed TCP connection attempts, and per source the distinct
 * destinations (address and port) it reached in the cycle: a scan. Memory is bounded by `maxSeries`; nothing
 * about a single flow is kept from one cycle to the next.
 */
import { Ewma } from "./ewma.ts";
import { attempt, type DetectFlow } from "./flow.ts";
import { DEFAULT_DETECT, type DetectOptions } from "./options.ts";

export const ANOMALY_KINDS = ["new_connections", "bytes", "failed_connections", "scan"] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface Anomaly {
  kind: AnomalyKind;
  /** Whose behaviour changed: a service (iface, proto, port) or a masked source. */
  scope: "service" | "source";
  ifindex?: number;
  proto?: number;
  port?: number;
  src?: string;
  observed: number;
  baselineMean: number;
  baselineSd: number;
  /** The value the observation had to exceed. */
  threshold: number;
  unit: "per_second" | "bytes_per_second" | "share" | "targets";
}

interface Series { ewma: Ewma; lastCycle: number; quietUntil: number }

interface Tally { ifindex?: number; proto?: number; port?: number; src?: string; attempts: number; failed: number; bytes: number; targets?: Set<string | number> }

export class AnomalyDetector {
  private readonly o: DetectOptions;
  private readonly series = new Map<string, Series>();
  private cycle = 0;
  readonly counts = new Map<AnomalyKind, number>(ANOMALY_KINDS.map((k) => [k, 0]));

  constructor(options: Partial<DetectOptions> = {}) {
    this.o = { ...DEFAULT_DETECT, ...options };
  }

  /** One cycle: `seconds` is its length. Returns the anomalies it found (after the warm-up only). */
  observe(flows: Iterable<DetectFlow>, seconds: number): Anomaly[] {
    // Services keyed by one number (interface, protocol, port: exact for ifindex below 2^29), sources by their
    // masked text: no string is built per flow, except a target's for a connection attempt.
    const services = new Map<number, Tally>();
    const sources = new Map<string, Tally>();
    for (const f of flows) {
      const a = attempt(f);
      // A refusal seen in reply belongs to the service at its source port, and to the host that asked.
      const reply = a === "refused-reply";
      const port = reply ? f.sport : f.dport;
      const sk = (f.ifindex * 256 + f.proto) * 65536 + port;
      let svc = services.get(sk);
      if (!svc) services.set(sk, (svc = { ifindex: f.ifindex, proto: f.proto, port, attempts: 0, failed: 0, bytes: 0 }));
      const who = reply ? f.dst : f.src;
      let src = sources.get(who);
      if (!src) sources.set(who, (src = { src: who, targets: new Set(), attempts: 0, failed: 0, bytes: 0 }));
      const attempted = a !== "none" ? 1 : 0, failed = a === "failed" || reply ? 1 : 0;
      svc.bytes += f.bytes; svc.attempts += attempted; svc.failed += failed;
      src.bytes += f.bytes; src.attempts += attempted; src.failed += failed;
      if (!reply && attempted) src.targets!.add(typeof f.dstId === "number" ? (f.dstId * 65536 + f.dport) * 4 + protoCode(f.proto) : `${f.dstId}/${f.proto}/${f.dport}`);
    }
    this.cycle++;
    const out: Anomaly[] = [];
    for (const t of services.values()) this.judge(`s${t.ifindex}/${t.proto}/${t.port}`, "service", t, seconds, out);
    for (const [k, t] of sources) this.judge(`h${k}`, "source", t, seconds, out);
    this.trim();
    for (const a of out) this.counts.set(a.kind, this.counts.get(a.kind)! + 1);
    return out;
  }

  /** Baselines kept now (for tests and the bench: memory stays bounded). */
  get size(): number {
    return this.series.size;
  }

  private judge(key: string, scope: "service" | "source", t: Tally, seconds: number, out: Anomaly[]): void {
    const where = scope === "service" ? { ifindex: t.ifindex, proto: t.proto, port: t.port } : { src: t.src };
    const o = this.o;
    const check = (kind: AnomalyKind, unit: Anomaly["unit"], x: number, floor: number, extra = true, sdFloor = 0) => {
      const s = this.seriesOf(`${kind}:${key}`);
      const threshold = s.ewma.mean + o.sigmas * Math.max(s.ewma.sd, o.relativeFloor * s.ewma.mean, sdFloor);
      if (this.cycle > o.warmupCycles && this.cycle >= s.quietUntil && extra && x >= floor && x > threshold) {
        out.push({ kind, scope, ...where, observed: round(x), baselineMean: round(s.ewma.mean), baselineSd: round(s.ewma.sd), threshold: round(threshold), unit });
        s.quietUntil = this.cycle + o.cooldownCycles;
      }
      s.ewma.update(x, 1 / this.cycle);
    };
    check("new_connections", "per_second", t.attempts / seconds, o.minNewPerSecond);
    check("bytes", "bytes_per_second", t.bytes / seconds, o.minBytesPerSecond);
    if (t.attempts > 0) {
      check("failed_connections", "share", t.failed / t.attempts, o.minFailedShare, t.failed / seconds >= o.minFailedPerSecond, 0.05);
    }
    if (t.targets) check("scan", "targets", t.targets.size, o.minScanTargets);
  }

  /** The series, brought up to this cycle (the cycles it missed were zeros), and moved to the recent end. */
  private seriesOf(key: string): Series {
    let s = this.series.get(key);
    if (s) {
      this.series.delete(key);
      if (this.cycle - s.lastCycle > 1) s.ewma.decay(this.cycle - s.lastCycle - 1);
    } else {
      // A series never seen was zero in every cycle so far: its baseline starts at zero, warmed up with the detector.
      s = { ewma: new Ewma(this.o.alpha), lastCycle: 0, quietUntil: 0 };
    }
    s.lastCycle = this.cycle;
    this.series.set(key, s);
    return s;
  }

  private trim(): void {
    for (const k of this.series.keys()) {
      if (this.series.size <= this.o.maxSeries) break;
      this.series.delete(k);
    }
  }
}

/** A target's protocol in two bits (TCP, UDP, ICMP, the rest), so a numeric target key stays exact (< 2^50). */
const protoCode = (p: number) => (p === 6 ? 0 : p === 17 ? 1 : p === 1 || p === 58 ? 2 : 3);

const round = (x: number) => Math.round(x * 1000) / 1000;
