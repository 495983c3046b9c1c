/**
 * The IPFIX exporter: flow exports in, one stream per configured collector out. The collector decides when a
 * record of a flow leaves (idle end, active timeout, shutdown) and says which in `reason`; the exporter only
 * encodes and sends. What leaves is a stated choice: `masked` (the default) exports the addresses as evidence
 * records carry them (host bits zeroed to the configured prefixes, so a collector outside the trust boundary
 * learns no more than the log shows), `unmasked` the full addresses, for a collector inside it.
 */
import { prefixMask } from "../mask/prefix.ts";
import type { FlowExport } from "./message.ts";
import { IpfixStream, type StreamStats } from "./stream.ts";
import { parseTarget } from "./target.ts";
import { openTransport, type Transport } from "./transport.ts";

export const IPFIX_ADDRESSES = ["masked", "unmasked"] as const;
export type IpfixAddresses = (typeof IPFIX_ADDRESSES)[number];

export interface ExporterOptions {
  /** `udp://HOST:PORT` or `tcp://HOST:PORT`, one per collector. */
  targets: readonly string[];
  addresses: IpfixAddresses;
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** The observation domain ID in every message header (RFC 7011 §3.1). */
  domain: number;
  refreshSeconds: number;
  refreshMessages: number;
  now?: () => number;
}

export class IpfixExporter {
  private readonly masks: { 4: Uint8Array; 6: Uint8Array };

  private constructor(private readonly streams: IpfixStream[], private readonly o: ExporterOptions) {
    this.masks = { 4: prefixMask(4, o.ipv4Prefix), 6: prefixMask(6, o.ipv6Prefix) };
  }

  static async open(o: ExporterOptions): Promise<IpfixExporter> {
    const targets = o.targets.map(parseTarget);
    const transports: Transport[] = [];
    for (const t of targets) transports.push(await openTransport(t));
    return new IpfixExporter(transports.map((t) => new IpfixStream(t, o)), o);
  }

  /** Sends these flow exports to every collector. Addresses are masked here when the setting says so. */
  export(flows: readonly FlowExport[]): void {
    if (flows.length === 0) return;
    const out = this.o.addresses === "masked" ? flows.map((f) => this.masked(f)) : flows;
    for (const s of this.streams) s.send(out);
  }

  stats(): { target: string; stats: StreamStats }[] {
    return this.streams.map((s) => ({ target: s.transport.target.text, stats: { ...s.stats } }));
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.transport.close()));
  }

  private masked(f: FlowExport): FlowExport {
    const m = this.masks[f.family];
    const and = (a: Uint8Array) => a.map((b, i) => b & (m[i] ?? 0));
    return { ...f, src: and(f.src), dst: and(f.dst) };
  }
}
