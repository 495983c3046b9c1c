/**
 * Exported flows (src/collector/export.ts) as the detector's input (src/detect). The detector sees what the
 * evidence holds: each record's growth, keyed by the masked source evidence shows, so an anomaly record names
 * no more than the log already does. A flow is new (a connection attempt) in its first record: the one whose
 * growth is everything the entry counted.
 */
import type { ExportedFlow } from "../collector/index.ts";
import type { DetectFlow } from "../detect/index.ts";
import type { Masker } from "../mask/index.ts";

const hex = (b: Uint8Array, n: number) => Buffer.from(b.buffer, b.byteOffset, n).toString("hex");

export function detectFlows(flows: readonly ExportedFlow[], masker: Masker): DetectFlow[] {
  // Sealing needs an identity per flow; these seals are thrown away (only src and dst are read).
  const ids = masker.seals ? flows.map(() => "detect") : undefined;
  const masked = masker.maskFlows(flows.map(({ key: k }) => ({ family: k.family, src: k.src, dst: k.dst, proto: k.proto, sport: k.sport, dport: k.dport })), ids);
  return flows.map((f, i) => ({
    proto: f.key.proto, ifindex: f.key.ifindex,
    src: masked[i]!.src, dst: masked[i]!.dst,
    dstId: hex(f.key.dst, f.key.family === 4 ? 4 : 16),
    sport: f.key.sport, dport: f.key.dport,
    packets: f.packets, bytes: f.bytes, tcpFlags: f.tcpFlags,
    isNew: f.packets === f.packetsTotal,
  }));
}
