/**
 * The one hook through which every exported flow leaves the collector, after its evidence
 * record is on disk: the IPFIX exporter (src/ipfix) and the anomaly detectors (src/detect)
 * plug in here and see exactly the records the log holds, with the same growth and reason.
 *
 * The key is the kernel's, unmasked (the operator's local view, as `ato flows` shows it): a
 * consumer that sends flows off the host decides what to mask. Times are the kernel's clock
 * (CLOCK_MONOTONIC ns) and, as in the record, wall-clock milliseconds.
 */
import type { FlowBatch, FlowKey, FlowNumbers } from "../kernel/index.ts";
import type { DueChunk } from "./chunk.ts";
import type { KernelClock } from "./clock.ts";
import type { ExportReason } from "./policy.ts";

export interface ExportedFlow {
  /** family, proto, src, dst (16-byte slots), sport, dport (ICMP type << 8 | code), vlan, vlanInner, ifindex. */
  key: FlowKey;
  iface: string;
  /** Growth this record carries (IPFIX packetDeltaCount, octetDeltaCount). */
  packets: number;
  bytes: number;
  fragments: number;
  /** The kernel's running totals for the entry. */
  packetsTotal: number;
  bytesTotal: number;
  /** flowStartMilliseconds, flowEndMilliseconds (Unix ms), and the kernel ns they come from. */
  startMs: number;
  endMs: number;
  firstSeenNs: bigint;
  lastSeenNs: bigint;
  /** TCP flags seen over the entry's life (OR). */
  tcpFlags: number;
  reason: ExportReason;
  /** seq of the flow's record in the evidence log. */
  seq: number;
}

export type ExportHook = (flows: ExportedFlow[]) => void;

/**
 * The map reading, flow by flow, before any record: called in every cycle for each flow whose counts changed
 * since the last read (live detection sees growth within an interval, not at the active timeout). `b`/`i` is
 * the flow as read (its key at b.keys[i * 48..], valid only during the call), `grown` its growth since the
 * previous read, `isNew` whether the collector had not seen the entry before (a new flow, or one made anew),
 * `counts` its totals (reused for the next flow). Called on the cycle's hot path: a consumer keeps it cheap.
 */
export type ReadHook = (b: FlowBatch, i: number, grown: { packets: number; bytes: number }, isNew: boolean, counts: FlowNumbers) => void;

/**
 * One whole read of the map, as bracketed sums (the conservation check, src/attest/conservation.ts, takes them
 * instead of reading the map again): `begin` just before the first batch, `end` after the last, before the cycle
 * removes any idle flow, with the packets of every entry read (idle ones too) and how many entries. A cycle that
 * does not read the map (nothing needed it: collector.ts) or fails mid-read calls `begin` at most, never `end`.
 */
export interface MapReadHook {
  begin(): void;
  end(packets: number, flows: number): void;
}

/** The chunk's flows as the hook sees them (decoded here, only when a hook is set). */
export function exported(c: DueChunk, from: number, n: number, firstSeq: number, iface: (ifindex: number) => string, clock: KernelClock): ExportedFlow[] {
  const out: ExportedFlow[] = [];
  for (let i = from; i < from + n; i++) {
    const key = c.key(i);
    out.push({
      key, iface: iface(key.ifindex),
      packets: c.dPackets[i]!, bytes: c.dBytes[i]!, fragments: c.dFragments[i]!,
      packetsTotal: c.packets[i]!, bytesTotal: c.bytes[i]!,
      startMs: clock.msOf(c.firstSeen[i]!), endMs: clock.msOf(c.lastSeen[i]!),
      firstSeenNs: BigInt(c.firstSeen[i]!), lastSeenNs: BigInt(c.lastSeen[i]!),
      tcpFlags: c.tcpFlags[i]!, reason: c.reason[i]!, seq: firstSeq + i - from,
    });
  }
  return out;
}
