/** Synthetic flow exports of every shape the collector hands over: IPv4/IPv6, TCP/UDP/ICMP, VLAN and QinQ. */
import type { FlowExport } from "../../src/ipfix/index.ts";
import { ipv4Addr, ipv6Addr } from "../support/frames.ts";

export function shapes(nowMs: number): (FlowExport & { srcText: string; dstText: string })[] {
  const base = { startMs: nowMs - 4000, endMs: nowMs - 50, vlan: 0, vlanInner: 0, tcpFlags: 0, ifindex: 3, reason: "idle" as const };
  const v4 = (s: string, d: string) => ({ family: 4 as const, src: ipv4Addr(s), dst: ipv4Addr(d), srcText: s, dstText: d });
  const v6 = (s: string, d: string) => ({ family: 6 as const, src: ipv6Addr(s), dst: ipv6Addr(d), srcText: s, dstText: d });
  return [
    { ...base, ...v4("198.18.1.10", "198.18.2.20"), proto: 6, sport: 41000, dport: 443, packets: 1234, bytes: 987654, tcpFlags: 0x1b },
    { ...base, ...v4("198.18.1.11", "198.18.2.20"), proto: 17, sport: 5353, dport: 53, packets: 7, bytes: 560, vlan: 100, reason: "active" },
    { ...base, ...v4("198.18.1.12", "198.18.2.20"), proto: 6, sport: 42000, dport: 3306, packets: 55, bytes: 12000, vlan: 300, vlanInner: 42, tcpFlags: 0x12 },
    { ...base, ...v4("198.18.1.13", "198.18.2.20"), proto: 1, sport: 0, dport: 0x0800, packets: 3, bytes: 252, reason: "shutdown" },
    { ...base, ...v6("2001:db8:1::10", "2001:db8:2::20"), proto: 6, sport: 43000, dport: 80, packets: 4_000_000_001, bytes: 6_000_000_000_123, tcpFlags: 0x02 },
    { ...base, ...v6("2001:db8:1::11", "2001:db8:2::20"), proto: 17, sport: 1000, dport: 2000, packets: 9, bytes: 900, vlan: 4094 },
    { ...base, ...v6("2001:db8:1::12", "2001:db8:2::20"), proto: 58, sport: 0, dport: 0x8000, packets: 2, bytes: 208 },
  ];
}
