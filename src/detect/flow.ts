/**
 * A flow as the detector sees it in one collection cycle, and what its TCP flags say.
 *
 * The kernel keeps, per flow and direction, the OR of the TCP flag bytes of its packets (bpf/xdp_audit.h
 * tcp_flags), not their order. So from the initiator's direction: SYN without ACK means the handshake never
 * completed (the SYN was refused with a RST, or never answered) — a failed connection. A completed handshake
 * shows ACK, whatever happened after it: a login refused by the application (a MariaDB "access denied") is not
 * visible in the flags; it shows as a burst of new connections. A RST in reply is visible only where replies
 * pass an interface ato watches: a new flow with RST and no SYN is such a reply, a refusal of the service at
 * its source port.
 */

export const TCP = 6;
const SYN = 0x02, RST = 0x04, ACK = 0x10;

export interface DetectFlow {
  proto: number;
  ifindex: number;
  /** The source as evidence shows it (masked): baselines and records are keyed by it. */
  src: string;
  /** The destination as evidence shows it (masked), for a reply's refused service. */
  dst: string;
  /** Any identifier of the destination address, only counted (distinct targets), never kept or shown: an IPv4 address as its 32-bit number, else any text. */
  dstId: string | number;
  sport: number;
  dport: number;
  /** Growth in this cycle. */
  packets: number;
  bytes: number;
  tcpFlags: number;
  /** The flow's first record: a new connection (attempt). */
  isNew: boolean;
}

export type Attempt = "none" | "ok" | "failed" | "refused-reply";

/** What a new flow says about a connection attempt. */
export function attempt(f: DetectFlow): Attempt {
  if (!f.isNew) return "none";
  if (f.proto !== TCP) return "ok";
  if (f.tcpFlags & SYN) return f.tcpFlags & ACK ? "ok" : "failed";
  if (f.tcpFlags & RST) return "refused-reply";
  return "none"; // mid-connection (a flow split by the idle timeout): not an attempt
}
