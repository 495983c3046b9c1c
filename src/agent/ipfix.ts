/**
 * Exported flows (src/collector/export.ts) as IPFIX flow exports (src/ipfix). The collector's reasons map to
 * flowEndReason (IANA IE 136): idle 1, active 2, shutdown 4; "interval" (a record every interval,
 * --active-timeout 0) is a live flow's growth so far, so active 2; "recreated" (the entry was deleted and made
 * again outside ato) is an end of flow detected, 3; "evicted" (a full map dropped the entry) is lack of
 * resources, 5.
 */
import type { ExportedFlow } from "../collector/index.ts";
import type { EndReason, FlowExport } from "../ipfix/index.ts";

const REASONS: Record<ExportedFlow["reason"], EndReason> = {
  idle: "idle", active: "active", interval: "active", shutdown: "shutdown", recreated: "endOfFlow", evicted: "lackOfResources",
};

export function ipfixFlow(f: ExportedFlow): FlowExport {
  const k = f.key;
  return {
    family: k.family, proto: k.proto, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport,
    packets: f.packets, bytes: f.bytes, startMs: f.startMs, endMs: f.endMs, tcpFlags: f.tcpFlags,
    vlan: k.vlan, vlanInner: k.vlanInner, ifindex: k.ifindex, reason: REASONS[f.reason],
  };
}
