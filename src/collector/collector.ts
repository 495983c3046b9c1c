/**
 * The collector: every interval, read the flow map (batch lookups), turn each flow's growth
 * since its last record into a flow record, mask the batch in one call, append it to the
 * evidence log, and remove idle flows without losing a count (lookup-and-delete returns the
 * final values atomically). Ring-buffer events become records of their own.
 *
 * The sum of `packets` (and `bytes`) over a flow's records equals what the kernel counted for
 * it. Counts already in a reused pinned map when the agent starts are not attributed to flow
 * records; the `agent` start record states them, so nothing is silently counted twice.
 */
import { randomBytes } from "node:crypto";
import type { EvidenceLog } from "../log/index.ts";
import type { Masker, FlowAddresses } from "../mask/index.ts";
import type { AuditEvent, Flow, FlowMapReader } from "../kernel/index.ts";
import { Baseline, type Reported } from "./baseline.ts";
import { KernelClock } from "./clock.ts";
import { eventRecord, flowRecord } from "./records.ts";

/** Flows masked, formatted and appended per step. */
const CHUNK = 8192;

export interface CollectorOptions {
  reader: FlowMapReader;
  masker: Masker;
  log: EvidenceLog;
  /** Flows whose last packet is older than this are removed from the map once reported. */
  idleTimeoutNs: bigint;
  ifaceName: (ifindex: number) => string;
}

export interface CycleSummary {
  flows: number;
  records: number;
  removed: number;
  /** Growth per IP protocol in this cycle, for the traffic metrics. */
  byProto: Map<number, { packets: bigint; bytes: bigint }>;
  seconds: number;
}

export class Collector {
  private readonly baseline = new Baseline();
  private readonly clock = new KernelClock();
  /** Flows removed from the map whose final records are not written yet. */
  private ended: { f: Flow; d: Reported }[] = [];

  constructor(private readonly o: CollectorOptions) {}

  /** Takes what a previous run left in a reused map as already accounted, and says so in the log. */
  start(extra: Record<string, unknown> = {}): { flows: number; packets: bigint; bytes: bigint } {
    let packets = 0n, bytes = 0n;
    const flows = this.o.reader.readAll();
    for (const f of flows) {
      this.baseline.set(hex(f.rawKey), f.counts);
      packets += f.counts.packets;
      bytes += f.counts.bytes;
    }
    this.o.log.appendRecord("agent", {
      event: "start",
      ...extra,
      preexisting_flows: flows.length,
      preexisting_packets: Number(packets),
      preexisting_bytes: Number(bytes),
    });
    return { flows: flows.length, packets, bytes };
  }

  /**
   * One collection. The baseline moves only after the records are written: when the log
   * cannot be written (full disk), the next cycle reports the same growth again, and flows
   * already taken out of the map wait in `ended` until their records are written.
   */
  cycle(): CycleSummary {
    const t0 = performance.now();
    const flows = this.o.reader.readAll();
    const now = this.clock.nowNs();
    const present = new Set<string>();
    const growing: { key: string; f: Flow; d: Reported }[] = [];
    let removed = 0;
    for (const f of flows) {
      const key = hex(f.rawKey);
      if (now - f.counts.lastSeenNs > this.o.idleTimeoutNs) {
        // lookup-and-delete: packets counted between the read above and now are included.
        const last = this.o.reader.take(f.rawKey) ?? f;
        const d = this.baseline.delta(key, last.counts);
        this.baseline.forget(key);
        removed++;
        if (d.packets > 0n) this.ended.push({ f: last, d });
        continue;
      }
      present.add(key);
      const d = this.baseline.delta(key, f.counts);
      if (d.packets > 0n) growing.push({ key, f, d });
    }
    const out: { key?: string; f: Flow; d: Reported; ended: boolean }[] =
      [...this.ended.map((e) => ({ ...e, ended: true })), ...growing.map((g) => ({ ...g, ended: false }))];

    // In chunks: memory stays bounded at a million flows, and each chunk is written all or
    // nothing, its flows' baselines moving only once it is on disk.
    let records = 0;
    for (let at = 0; at < out.length; at += CHUNK) {
      const part = out.slice(at, at + CHUNK);
      const rids = this.o.masker.seals ? part.map(() => randomBytes(9).toString("base64url")) : undefined;
      const masked = this.o.masker.maskFlows(part.map(({ f }) => addresses(f)), rids);
      this.o.log.appendRecords("flow", part.map(({ f, d, ended }, i) =>
        flowRecord(f, masked[i]!, d, ended, this.o.ifaceName(f.key.ifindex), this.clock, rids?.[i])));
      records += part.length;
      let written = 0; // ended flows come first, in order
      for (const p of part) {
        if (p.ended) written++;
        else this.baseline.set(p.key!, p.f.counts);
      }
      this.ended.splice(0, written);
      // A chunk leaves ~8k records' worth of strings and buffers behind; collecting them now
      // keeps the agent's peak memory near its live size instead of the whole cycle's garbage.
      if (out.length > CHUNK) Bun.gc(false);
    }
    this.baseline.retain(present);

    const byProto = new Map<number, { packets: bigint; bytes: bigint }>();
    for (const { f, d } of out) {
      const p = byProto.get(f.key.proto) ?? { packets: 0n, bytes: 0n };
      p.packets += d.packets;
      p.bytes += d.bytes;
      byProto.set(f.key.proto, p);
    }
    return { flows: flows.length, records, removed, byProto, seconds: (performance.now() - t0) / 1000 };
  }

  /** A ring-buffer event as an evidence record of its own kind. */
  event(e: AuditEvent): void {
    this.clock.nowNs();
    const rid = this.o.masker.seals ? [randomBytes(9).toString("base64url")] : undefined;
    const masked = e.kind === "overflow" ? undefined : this.o.masker.maskFlows([{ ...e.key }], rid)[0];
    this.o.log.appendRecord(e.kind, eventRecord(e, masked, this.o.ifaceName(e.key.ifindex), this.clock));
  }
}

function addresses(f: Flow): FlowAddresses {
  return { family: f.key.family, src: f.key.src, dst: f.key.dst, proto: f.key.proto, sport: f.key.sport, dport: f.key.dport };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}
