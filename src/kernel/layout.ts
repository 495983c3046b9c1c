/**
 * The TypeScript mirror of bpf/xdp_audit.h. Offsets are written out, not computed, so that
 * test/kernel/layout.test.ts can compare each against the BTF of the built object: a change
 * to the C header that is not made here too fails that test.
 */
import type { EventKind } from "../evidence/index.ts";

export type { EventKind };

export const FLOW_KEY = {
  size: 48,
  src: 0, dst: 16, ifindex: 32, sport: 36, dport: 38, vlan: 40, vlanInner: 42, family: 44, proto: 45, pad: 46,
} as const;

export const FLOW_VALUE = {
  size: 88,
  packets: 0, bytes: 8, firstSeenNs: 16, lastSeenNs: 24, tcpFlags: 32, fragments: 36,
  iatN: 40, iatMeanUs: 48, iatM2: 56, winStartNs: 64, winPackets: 72, winFlagged: 76, timingFlags: 80, spikes: 84,
} as const;

export const COUNTERS_FIELDS = [
  "packets", "bytes", "ipv4", "ipv6", "non_ip", "malformed", "fragments", "map_full", "ringbuf_full",
  "spike_events", "timing_events", "overflow_events", "last_overflow_ns", "ext_hdr_limit", "vlan_tagged",
] as const;
export type CounterName = (typeof COUNTERS_FIELDS)[number];
export const COUNTERS_SIZE = 128;

export const CONFIG = {
  size: 32, spikeWindowNs: 0, spikeThreshold: 8, timingEnabled: 12, timingMinSamples: 16, tscoreThreshold: 20, overflowIntervalNs: 24,
} as const;

export const EVENT = {
  size: 96, tsNs: 0, key: 8, kind: 56, cpu: 60, value: 64, meanUs: 72, varUs2: 80, samples: 88,
} as const;

/** The event codes of xdp_audit.h's struct audit_event (kind), by the names evidence gives them. */
export const EVENT_KINDS = { 1: "spike", 2: "timing", 3: "overflow" } as const satisfies Record<number, EventKind>;

/** Per-CPU map values are laid out per possible CPU, each rounded up to 8 bytes. */
export function percpuStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** A flow's identity, decoded from struct flow_key. Addresses stay as 16-byte slots. */
export interface FlowKey {
  family: 4 | 6;
  proto: number;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  vlan: number;
  vlanInner: number;
  ifindex: number;
}

/** A flow's counters summed over every CPU. */
export interface FlowCounts {
  packets: bigint;
  bytes: bigint;
  firstSeenNs: bigint;
  lastSeenNs: bigint;
  tcpFlags: number;
  fragments: number;
  timingFlags: number;
  spikes: number;
}

export function decodeKey(b: Uint8Array, at = 0): FlowKey {
  const v = new DataView(b.buffer, b.byteOffset + at, FLOW_KEY.size);
  return {
    src: b.slice(at + FLOW_KEY.src, at + FLOW_KEY.src + 16),
    dst: b.slice(at + FLOW_KEY.dst, at + FLOW_KEY.dst + 16),
    ifindex: v.getUint32(FLOW_KEY.ifindex, true),
    sport: v.getUint16(FLOW_KEY.sport, true),
    dport: v.getUint16(FLOW_KEY.dport, true),
    vlan: v.getUint16(FLOW_KEY.vlan, true),
    vlanInner: v.getUint16(FLOW_KEY.vlanInner, true),
    family: v.getUint8(FLOW_KEY.family) === 6 ? 6 : 4,
    proto: v.getUint8(FLOW_KEY.proto),
  };
}

export function encodeKey(k: FlowKey): Uint8Array {
  const b = new Uint8Array(FLOW_KEY.size);
  const v = new DataView(b.buffer);
  b.set(k.src, FLOW_KEY.src);
  b.set(k.dst, FLOW_KEY.dst);
  v.setUint32(FLOW_KEY.ifindex, k.ifindex, true);
  v.setUint16(FLOW_KEY.sport, k.sport, true);
  v.setUint16(FLOW_KEY.dport, k.dport, true);
  v.setUint16(FLOW_KEY.vlan, k.vlan, true);
  v.setUint16(FLOW_KEY.vlanInner, k.vlanInner, true);
  v.setUint8(FLOW_KEY.family, k.family);
  v.setUint8(FLOW_KEY.proto, k.proto);
  return b;
}

/** Sums one flow's per-CPU values: counts add, first/last seen take min/max, flags OR. */
export function sumPerCpu(values: Uint8Array, at: number, cpus: number): FlowCounts {
  const stride = percpuStride(FLOW_VALUE.size);
  const v = new DataView(values.buffer, values.byteOffset + at, stride * cpus);
  const sum: FlowCounts = { packets: 0n, bytes: 0n, firstSeenNs: 0n, lastSeenNs: 0n, tcpFlags: 0, fragments: 0, timingFlags: 0, spikes: 0 };
  for (let c = 0; c < cpus; c++) {
    const o = c * stride;
    const packets = v.getBigUint64(o + FLOW_VALUE.packets, true);
    if (packets === 0n) continue; // this CPU never saw the flow
    sum.packets += packets;
    sum.bytes += v.getBigUint64(o + FLOW_VALUE.bytes, true);
    const first = v.getBigUint64(o + FLOW_VALUE.firstSeenNs, true);
    const last = v.getBigUint64(o + FLOW_VALUE.lastSeenNs, true);
    if (sum.firstSeenNs === 0n || first < sum.firstSeenNs) sum.firstSeenNs = first;
    if (last > sum.lastSeenNs) sum.lastSeenNs = last;
    sum.tcpFlags |= v.getUint32(o + FLOW_VALUE.tcpFlags, true);
    sum.fragments += v.getUint32(o + FLOW_VALUE.fragments, true);
    sum.timingFlags += v.getUint32(o + FLOW_VALUE.timingFlags, true);
    sum.spikes += v.getUint32(o + FLOW_VALUE.spikes, true);
  }
  return sum;
}

/** Sums struct audit_counters over CPUs (last_overflow_ns takes the max). */
export function sumCounters(values: Uint8Array, cpus: number): Record<CounterName, bigint> {
  const stride = percpuStride(COUNTERS_SIZE);
  const v = new DataView(values.buffer, values.byteOffset, stride * cpus);
  const out = {} as Record<CounterName, bigint>;
  // Plain loops, no closure per field: this runs a few times a second (collector, conservation, scrapes).
  for (let i = 0; i < COUNTERS_FIELDS.length; i++) {
    const f = COUNTERS_FIELDS[i]!;
    let sum = 0n;
    for (let c = 0; c < cpus; c++) {
      const x = v.getBigUint64(c * stride + i * 8, true);
      sum = f === "last_overflow_ns" ? (x > sum ? x : sum) : sum + x;
    }
    out[f] = sum;
  }
  return out;
}

export interface AuditConfig {
  spikeWindowNs: bigint;
  spikeThreshold: number;
  timingEnabled: boolean;
  timingMinSamples: number;
  tscoreThreshold: number;
  overflowIntervalNs: bigint;
}

export function encodeConfig(c: AuditConfig): Uint8Array {
  const b = new Uint8Array(CONFIG.size);
  const v = new DataView(b.buffer);
  v.setBigUint64(CONFIG.spikeWindowNs, c.spikeWindowNs, true);
  v.setUint32(CONFIG.spikeThreshold, c.spikeThreshold, true);
  v.setUint32(CONFIG.timingEnabled, c.timingEnabled ? 1 : 0, true);
  v.setUint32(CONFIG.timingMinSamples, c.timingMinSamples, true);
  v.setUint32(CONFIG.tscoreThreshold, c.tscoreThreshold, true);
  v.setBigUint64(CONFIG.overflowIntervalNs, c.overflowIntervalNs, true);
  return b;
}

export interface AuditEvent {
  kind: EventKind;
  tsNs: bigint;
  cpu: number;
  key: FlowKey;
  value: bigint;
  meanUs: bigint;
  varUs2: bigint;
  samples: bigint;
}

export function decodeEvent(b: Uint8Array): AuditEvent | null {
  if (b.length < EVENT.size) return null;
  const v = new DataView(b.buffer, b.byteOffset, EVENT.size);
  const kind = EVENT_KINDS[v.getUint32(EVENT.kind, true) as 1 | 2 | 3];
  if (!kind) return null;
  return {
    kind,
    tsNs: v.getBigUint64(EVENT.tsNs, true),
    key: decodeKey(b, EVENT.key),
    cpu: v.getUint32(EVENT.cpu, true),
    value: v.getBigUint64(EVENT.value, true),
    meanUs: v.getBigInt64(EVENT.meanUs, true),
    varUs2: v.getBigUint64(EVENT.varUs2, true),
    samples: v.getBigUint64(EVENT.samples, true),
  };
}

/** |t| of a timing event: the deviation over the standard deviation before the packet. */
export function tScore(e: AuditEvent): number {
  const sd = Math.sqrt(Number(e.varUs2));
  return sd > 0 ? Number(e.value) / sd : 0;
}
