/**
 * When a flow's growth becomes a record: NetFlow/IPFIX export semantics (RFC 7011 §5.1's
 * flowEndReason), so a quiet host with many flows does not write a record per flow per second.
 *
 *   idle       the flow had no packet for the idle timeout: removed from the map, final record
 *   active     the flow has been active for the active timeout since its start or last record
 *   shutdown   the agent's final collection: every flow with unrecorded growth
 *   interval   every-interval mode (active timeout 0): a record every cycle for every flow that grew
 *   recreated  the kernel made the flow's entry anew (deleted outside ato, then seen again):
 *              the growth the old entry had when last read, recorded before the new entry's
 *   evicted    the entry left the map without ato removing it: its growth as last read
 *
 * The map is read when something needs what it holds (collector.ts): a timeout that can have
 * come, every-interval mode, a detector, a /metrics scrape within its window, the stop. A record
 * carries the growth since the flow's previous one, read at the cycle it is due, so the sum of a
 * flow's records is still what the kernel counted, whichever cycles read the map in between.
 */

export type ExportReason = "idle" | "active" | "shutdown" | "interval" | "recreated" | "evicted";
/** Every reason, by a small number (DueChunk.reasonCode: what native code reads in place of the string). */
export const REASONS: readonly ExportReason[] = ["idle", "active", "shutdown", "interval", "recreated", "evicted"];
export const REASON_CODE: Readonly<Record<ExportReason, number>> = { idle: 0, active: 1, shutdown: 2, interval: 3, recreated: 4, evicted: 5 };

export interface ExportPolicy {
  /** Kernel ns a flow stays active before a record; 0: a record every interval. */
  activeTimeoutNs: number;
}

/** Why the flow's unrecorded growth is recorded now, or undefined to let it wait. */
export function dueReason(p: ExportPolicy, pending: number, exportedAtNs: number, nowNs: number, final: boolean): ExportReason | undefined {
  if (pending <= 0) return undefined;
  if (final) return "shutdown";
  if (p.activeTimeoutNs === 0) return "interval";
  return nowNs - exportedAtNs >= p.activeTimeoutNs ? "active" : undefined;
}
