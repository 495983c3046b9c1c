/**
 * Evidence record bodies for flows and kernel events. Addresses and ports arrive already masked
 * (src/mask); what is added here is never identifying: counts, times, protocol, VLAN IDs.
 * flowRecord is what a flow record holds; the collector writes the same object as bytes
 * (flow-line.ts), and the tests hold the two to the same bytes through canonicalize().
 */
import type { MaskedFlow } from "../mask/index.ts";
import { tScore, type AuditEvent, type Flow } from "../kernel/index.ts";
import type { KernelClock } from "./clock.ts";
import type { Reported } from "./baseline.ts";
import type { ExportReason } from "./policy.ts";

const ICMP = new Set([1, 58]);
const TCP = 6;

export function flowRecord(
  f: Flow, masked: MaskedFlow, delta: Reported, reason: ExportReason, iface: string, clock: KernelClock, rid?: string,
): Record<string, unknown> {
  const r: Record<string, unknown> = {
    family: f.key.family,
    proto: f.key.proto,
    ...masked,
    iface,
    packets: delta.packets,
    bytes: delta.bytes,
    packets_total: Number(f.counts.packets),
    bytes_total: Number(f.counts.bytes),
    first_seen: clock.toIso(f.counts.firstSeenNs),
    last_seen: clock.toIso(f.counts.lastSeenNs),
    reason, // why now: src/collector/policy.ts; after "idle", later packets start a new flow
  };
  // ICMP type and code travel in the key's dport; they say what kind of message, not who.
  if (ICMP.has(f.key.proto)) Object.assign(r, { icmp_type: f.key.dport >> 8, icmp_code: f.key.dport & 0xff });
  if (f.key.proto === TCP) r.tcp_flags = f.counts.tcpFlags;
  if (f.key.vlan) r.vlan = f.key.vlan;
  if (f.key.vlanInner) r.vlan_inner = f.key.vlanInner;
  if (delta.fragments) r.fragments = delta.fragments;
  if (f.counts.timingFlags) r.timing_flags_total = f.counts.timingFlags;
  if (f.counts.spikes) r.spikes_total = f.counts.spikes;
  if (rid) r.rid = rid;
  return r;
}

export function eventRecord(e: AuditEvent, masked: MaskedFlow | undefined, iface: string, clock: KernelClock): Record<string, unknown> {
  const base: Record<string, unknown> = { at: clock.toIso(e.tsNs), cpu: e.cpu, iface };
  if (masked) Object.assign(base, { family: e.key.family, proto: e.key.proto, ...masked });
  switch (e.kind) {
    case "spike":
      return { ...base, window_packets: Number(e.value), window_ms: Number(e.samples / 1_000_000n) };
    case "timing":
      return { ...base, deviation_us: Number(e.value), mean_us: Number(e.meanUs), variance_us2: Number(e.varUs2), samples: Number(e.samples), tscore: Math.round(tScore(e) * 100) / 100 };
    case "overflow":
      return { ...base, map_full_on_cpu: Number(e.value) };
  }
}
