/**
 * The collector: every interval, read the flow map (batch lookups), turn each flow's growth
 * since its last record into a flow record, mask a chunk of them in one call, append it to the
 * evidence log, and remove idle flows without losing a count (lookup-and-delete returns the
 * final values atomically). Ring-buffer events become records of their own.
 *
 * The sum of `packets` (and `bytes`) over a flow's records equals what the kernel counted for
 * it. Counts already in a reused pinned map when the agent starts are not attributed to flow
 * records; the `agent` start record states them, so nothing is silently counted twice.
 *
 * Cost is linear in the flows in the map: a flow that did not grow costs a hash lookup on the
 * kernel's own buffer (no object, no string); only growing flows are decoded, and they are
 * written in chunks as the map is read, so memory stays bounded by the chunk, not the map.
 * A chunk never reaches past the log's next count checkpoint, so `--checkpoint-every` is
 * honoured to the line and every append is all or nothing: a flow's baseline moves exactly
 * when its record is on disk.
 * A cycle yields to the event loop between batches and chunks: /metrics and /healthz answer
 * while a million flows are read.
 */
import { randomBytes } from "node:crypto";
import type { EvidenceLog } from "../log/index.ts";
import type { Masker, FlowAddresses } from "../mask/index.ts";
import { FLOW_KEY, type AuditEvent, type Flow, type FlowMapReader } from "../kernel/index.ts";
import { Baseline, type Reported } from "./baseline.ts";
import { KernelClock } from "./clock.ts";
import { eventRecord, flowRecord } from "./records.ts";
import { KEY_WORDS } from "./table.ts";

/** Flows masked, formatted and appended per write at most: small enough to keep the event loop responsive. */
const CHUNK = 2048;

export interface CollectorOptions {
  reader: FlowMapReader;
  masker: Masker;
  log: EvidenceLog;
  /** Flows whose last packet is older than this are removed from the map once reported. */
  idleTimeoutNs: bigint;
  ifaceName: (ifindex: number) => string;
}

export interface CycleSummary {
  /** Flows in the map when it was read. */
  flows: number;
  records: number;
  removed: number;
  /** Growth per IP protocol written in this cycle, for the traffic metrics. */
  byProto: Map<number, { packets: number; bytes: number }>;
  seconds: number;
}

interface Growth {
  f: Flow;
  d: Reported;
  ended: boolean;
}

export class Collector {
  private readonly baseline = new Baseline();
  private readonly clock = new KernelClock();
  /** Flows removed from the map whose final records are not written yet. */
  private ended: Growth[] = [];
  /** Interface names by ifindex, looked up once per cycle (if_indextoname is a syscall per call). */
  private ifaces = new Map<number, string>();

  constructor(private readonly o: CollectorOptions) {}

  /** Takes what a previous run left in a reused map as already accounted, and says so in the log. */
  start(extra: Record<string, unknown> = {}): { flows: number; packets: number; bytes: number } {
    let flows = 0, packets = 0, bytes = 0;
    this.clock.sync();
    this.baseline.beginCollection();
    for (const b of this.o.reader.batches()) {
      for (let i = 0; i < b.n; i++) {
        const f = b.flow(i);
        this.baseline.set(f.rawKey, f.counts);
        flows++;
        packets += Number(f.counts.packets);
        bytes += Number(f.counts.bytes);
      }
    }
    this.o.log.appendRecord("agent", { event: "start", ...extra, preexisting_flows: flows, preexisting_packets: packets, preexisting_bytes: bytes });
    return { flows, packets, bytes };
  }

  /**
   * One collection. A flow's baseline moves only after its record is written: when the log
   * cannot be written (full disk), the error propagates and the next cycle reports the same
   * growth again; flows already taken out of the map wait in `ended` until they are written.
   * Wall times of the whole cycle come from one clock offset (KernelClock.sync).
   */
  async cycle(): Promise<CycleSummary> {
    const t0 = performance.now();
    const summary: CycleSummary = { flows: 0, records: 0, removed: 0, byProto: new Map(), seconds: 0 };
    const idleBefore = Number(this.clock.sync() - this.o.idleTimeoutNs);
    this.baseline.beginCollection();
    this.ifaces.clear();

    // Flows a failed cycle took out of the map come first.
    await this.flush(this.ended, summary, true);

    const idle: Uint8Array[] = [];
    const growing: Growth[] = [];
    for (const b of this.o.reader.batches()) {
      for (let i = 0; i < b.n; i++) {
        summary.flows++;
        const lastSeen = b.lastSeenNs(i);
        if (lastSeen < idleBefore) { // taken after the read, with whatever arrived since
          idle.push(b.keys.slice(i * FLOW_KEY.size, (i + 1) * FLOW_KEY.size));
          continue;
        }
        if (this.baseline.unchanged(b.keyWords, i * KEY_WORDS, b.packets(i), lastSeen)) continue; // nothing new
        const f = b.flow(i);
        const d = this.baseline.delta(f.rawKey, f.counts);
        if (d.packets > 0) growing.push({ f, d, ended: false });
        if (growing.length >= this.chunkLimit()) await this.flush(growing, summary, false);
      }
      await yieldToEventLoop();
    }
    await this.flush(growing, summary, true);

    for (const rawKey of idle) {
      // lookup-and-delete: packets counted between the read above and now are included.
      const last = this.o.reader.take(rawKey);
      if (last) {
        const d = this.baseline.delta(rawKey, last.counts);
        if (d.packets > 0) this.ended.push({ f: last, d, ended: true });
      }
      this.baseline.forget(rawKey);
      summary.removed++;
    }
    await this.flush(this.ended, summary, true);
    this.baseline.endCollection();
    summary.seconds = (performance.now() - t0) / 1000;
    return summary;
  }

  /** A ring-buffer event as an evidence record of its own kind. */
  event(e: AuditEvent): void {
    const rid = this.o.masker.seals ? [randomBytes(9).toString("base64url")] : undefined;
    const masked = e.kind === "overflow" ? undefined : this.o.masker.maskFlows([{ ...e.key }], rid)[0];
    this.o.log.appendRecord(e.kind, eventRecord(e, masked, this.o.ifaceName(e.key.ifindex), this.clock));
  }

  /** Records per write: a chunk, or fewer when the log's next count checkpoint comes first. */
  private chunkLimit(): number {
    return Math.min(CHUNK, this.o.log.roomBeforeCheckpoint());
  }

  /**
   * Writes the front of `list` chunk by chunk and takes each chunk off it once written: whole
   * chunks only, or everything when `all`. A failed write throws with the list still holding
   * what was not written.
   */
  private async flush(list: Growth[], summary: CycleSummary, all: boolean): Promise<void> {
    for (let limit = this.chunkLimit(); list.length >= limit || (all && list.length > 0); limit = this.chunkLimit()) {
      const part = list.length <= limit ? list.slice() : list.slice(0, limit);
      this.write(part, summary);
      list.splice(0, part.length);
      await yieldToEventLoop();
    }
  }

  /** Masks and appends one chunk (within the room before a checkpoint: all or nothing); then moves the baselines of its live flows. */
  private write(part: Growth[], summary: CycleSummary): void {
    const rids = this.o.masker.seals ? part.map(() => randomBytes(9).toString("base64url")) : undefined;
    const masked = this.o.masker.maskFlows(part.map(({ f }) => addresses(f)), rids);
    this.o.log.appendRecords("flow", part.map(({ f, d, ended }, i) =>
      flowRecord(f, masked[i]!, d, ended, this.iface(f.key.ifindex), this.clock, rids?.[i])));
    summary.records += part.length;
    for (const { f, d, ended } of part) {
      if (!ended) this.baseline.set(f.rawKey, f.counts);
      const p = summary.byProto.get(f.key.proto) ?? { packets: 0, bytes: 0 };
      p.packets += d.packets;
      p.bytes += d.bytes;
      summary.byProto.set(f.key.proto, p);
    }
  }

  private iface(ifindex: number): string {
    let name = this.ifaces.get(ifindex);
    if (name === undefined) this.ifaces.set(ifindex, (name = this.o.ifaceName(ifindex)));
    return name;
  }
}

function addresses(f: Flow): FlowAddresses {
  return { family: f.key.family, src: f.key.src, dst: f.key.dst, proto: f.key.proto, sport: f.key.sport, dport: f.key.dport };
}

/** Lets timers and sockets (the metrics server, signals) run between steps of a long cycle. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
