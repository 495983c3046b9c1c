/**
 * The information elements ato exports (IANA "IPFIX Information Elements", RFC 7012 §4 and its registry) and the
 * two templates built from them: one for IPv4 flows, one for IPv6 flows. Lengths are the registry's natural
 * lengths except tcpControlBits, which RFC 7125 widened to 16 bits (collectors also read 1 byte; 2 is current).
 */

export interface Element { id: number; length: number; name: string }

const ie = (id: number, length: number, name: string): Element => ({ id, length, name });

export const IE = {
  octetDeltaCount: ie(1, 8, "octetDeltaCount"),
  packetDeltaCount: ie(2, 8, "packetDeltaCount"),
  protocolIdentifier: ie(4, 1, "protocolIdentifier"),
  tcpControlBits: ie(6, 2, "tcpControlBits"),
  sourceTransportPort: ie(7, 2, "sourceTransportPort"),
  sourceIPv4Address: ie(8, 4, "sourceIPv4Address"),
  ingressInterface: ie(10, 4, "ingressInterface"),
  destinationTransportPort: ie(11, 2, "destinationTransportPort"),
  destinationIPv4Address: ie(12, 4, "destinationIPv4Address"),
  sourceIPv6Address: ie(27, 16, "sourceIPv6Address"),
  destinationIPv6Address: ie(28, 16, "destinationIPv6Address"),
  vlanId: ie(58, 2, "vlanId"),
  flowEndReason: ie(136, 1, "flowEndReason"),
  flowStartMilliseconds: ie(152, 8, "flowStartMilliseconds"),
  flowEndMilliseconds: ie(153, 8, "flowEndMilliseconds"),
  dot1qCustomerVlanId: ie(245, 2, "dot1qCustomerVlanId"),
} as const;

/** flowEndReason values (IANA registry for IE 136). */
export const END_REASON = {
  /** No packet for the idle timeout: the flow left the map. */
  idle: 0x01,
  /** Still active at the active timeout: a record of its growth so far, more may follow. */
  active: 0x02,
  /** The entry ended outside ato (deleted and re-created in the map): end of flow detected. */
  endOfFlow: 0x03,
  /** The agent stopped (forced end). */
  shutdown: 0x04,
  /** The kernel evicted the entry from a full map: lack of resources. */
  lackOfResources: 0x05,
} as const;
export type EndReason = keyof typeof END_REASON;

export interface Template { id: number; family: 4 | 6; fields: readonly Element[]; recordLength: number }

function template(id: number, family: 4 | 6): Template {
  const addrs = family === 4 ? [IE.sourceIPv4Address, IE.destinationIPv4Address] : [IE.sourceIPv6Address, IE.destinationIPv6Address];
  const fields = [
    addrs[0]!, addrs[1]!, IE.sourceTransportPort, IE.destinationTransportPort, IE.protocolIdentifier,
    IE.octetDeltaCount, IE.packetDeltaCount, IE.flowStartMilliseconds, IE.flowEndMilliseconds,
    IE.tcpControlBits, IE.vlanId, IE.dot1qCustomerVlanId, IE.ingressInterface, IE.flowEndReason,
  ];
  return { id, family, fields, recordLength: fields.reduce((n, f) => n + f.length, 0) };
}

/** Template IDs start at 256 (RFC 7011 §3.4.1: 0–255 are set IDs). */
export const TEMPLATE_V4 = template(256, 4);
export const TEMPLATE_V6 = template(257, 6);
export const TEMPLATES = [TEMPLATE_V4, TEMPLATE_V6] as const;
