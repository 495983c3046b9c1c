/**
 * The only label values ato's metrics carry: small fixed sets. No address, port or interface ever becomes a
 * label value: a flow's identity belongs in the evidence log, and one series per flow would grow without bound.
 */

export const PROTOS = ["tcp", "udp", "icmp", "icmp6", "other"] as const;
export type ProtoLabel = (typeof PROTOS)[number];

/** XDP sees packets as they arrive; "egress" is reserved for a TC hook. */
export const DIRECTIONS = ["ingress"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export { EVENT_KINDS, type EventKind } from "../evidence/index.ts";

/** The label for an IP protocol number (IANA): 6 tcp, 17 udp, 1 icmp, 58 icmp6, anything else other. */
export function protoLabel(proto: number): ProtoLabel {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmp6";
    default: return "other";
  }
}
