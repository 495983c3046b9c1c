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

interface Tally { ifindex?: number; proto?: number; port?: number; src?: string; attempts: number; failed: number; bytes: number; targets?: Set<string> }

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
    const services = new Map<string, Tally>();
    const sources = new Map<string, Tally>();
    for (const f of flows) {
      const a = attempt(f);
      // A refusal seen in reply belongs to the service at its source port, and to the host that asked.
      const reply = a === "refused-reply";
      const sk = reply ? `${f.ifindex}/${f.proto}/${f.sport}` : `${f.ifindex}/${f.proto}/${f.dport}`;
      const svc = tally(services, sk, () => ({ ifindex: f.ifindex, proto: f.proto, port: reply ? f.sport : f.dport }));
      const src = tally(sources, reply ? f.dst : f.src, () => ({ src: reply ? f.dst : f.src, targets: new Set() }));
      for (const t of [svc, src]) {
        t.bytes += f.bytes;
        if (a !== "none") t.attempts++;
        if (a === "failed" || reply) t.failed++;
      }
      if (!reply && a !== "none") src.targets!.add(`${f.dstId}/${f.proto}/${f.dport}`);
    }
    this.cycle++;
    const out: Anomaly[] = [];
    for (const [k, t] of services) this.judge(`s${k}`, "service", t, seconds, out);
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

function tally(m: Map<string, Tally>, key: string, init: () => Partial<Tally>): Tally {
  let t = m.get(key);
  if (!t) m.set(key, (t = { attempts: 0, failed: 0, bytes: 0, ...init() }));
  return t;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
