/**
 * What the detectors (src/detect) see: every flow that grew in the cycle, straight from the collector's map
 * reading (its onRead hook), not from the records, so a live flow's growth is judged within an interval
 * instead of at its active timeout. Sources and destinations are keyed as evidence shows them: the address with
 * its host bits zeroed to the masking prefix and written as the records write it (an anomaly names no more than
 * the log does); the unmasked destination is only counted (distinct targets), never kept past the cycle.
 *
 * Per flow this reads words of the batch's own buffer and looks the masked IPv4 source up in a cache: no key
 * decoding, no masking call. IPv6 addresses (rarer) are masked and formatted per flow.
 */
import type { ReadHook } from "../collector/index.ts";
import type { DetectFlow } from "../detect/index.ts";
import { formatAddress } from "../mask/index.ts";

const KEY_WORDS = 12; // FLOW_KEY.size / 4: src 0–3, dst 4–7, ifindex 8, ports 9, vlans 10, family|proto 11

export class LiveDetectFeed {
  private flows: DetectFlow[] = [];
  private readonly v4 = new Map<number, string>();
  private readonly v4Mask: number;

  constructor(private readonly ipv4Prefix: number, private readonly ipv6Prefix: number) {
    const m = new Uint8Array(4);
    for (let bit = 0; bit < ipv4Prefix; bit++) m[bit >> 3]! |= 0x80 >> (bit & 7);
    this.v4Mask = new Uint32Array(m.buffer)[0]!; // the prefix as the key's words hold the address (little-endian load)
  }

  /** The collector's onRead: one changed flow of the map reading. */
  readonly onRead: ReadHook = (b, i, grown, isNew, counts) => {
    const w = b.keyWords, at = i * KEY_WORDS;
    const fp = w[at + 11]!, family = fp & 0xff, proto = (fp >>> 8) & 0xff, ports = w[at + 9]!;
    let src: string, dst: string, dstId: string | number;
    if (family === 4) {
      src = this.masked4(w[at]!);
      dst = this.masked4(w[at + 4]!);
      dstId = w[at + 4]!;
    } else {
      src = this.masked6(b.keys, i * 48);
      dst = this.masked6(b.keys, i * 48 + 16);
      dstId = `${w[at + 4]}.${w[at + 5]}.${w[at + 6]}.${w[at + 7]}`;
    }
    this.flows.push({
      proto, ifindex: w[at + 8]!, src, dst, dstId, sport: ports & 0xffff, dport: ports >>> 16,
      packets: grown.packets, bytes: grown.bytes, tcpFlags: counts.tcpFlags, isNew,
    });
  };

  /** The cycle's flows, handed over once; the next cycle starts empty. */
  take(): DetectFlow[] {
    const f = this.flows;
    this.flows = [];
    // Masked sources seen in a cycle are few; a host that saw very many (a spoofed flood) does not keep them all.
    if (this.v4.size > 65_536) this.v4.clear();
    return f;
  }

  private masked4(word: number): string {
    const k = (word & this.v4Mask) >>> 0;
    let s = this.v4.get(k);
    if (s === undefined) this.v4.set(k, (s = `${k & 0xff}.${(k >>> 8) & 0xff}.${(k >>> 16) & 0xff}.${k >>> 24}/${this.ipv4Prefix}`));
    return s;
  }

  private masked6(keys: Uint8Array, at: number): string {
    const a = keys.slice(at, at + 16);
    for (let bit = this.ipv6Prefix; bit < 128; bit++) a[bit >> 3]! &= ~(0x80 >> (bit & 7));
    return formatAddress(6, a, this.ipv6Prefix);
  }
}
