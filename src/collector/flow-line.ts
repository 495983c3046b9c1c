/**
 * The parts of a flow record's canonical JSON bytes that chunk-line.ts's ChunkWriter writes
 * from: the member names of records.ts's flowRecord in RFC 8785 order (sorted by name), each
 * with its punctuation encoded once; RFC 3339 times of kernel timestamps; repeating values
 * (interface names, reasons) encoded once. The records are `canonicalize(flowRecord(...))`,
 * byte for byte (test/collector/chunk-line.test.ts), without an object, a sort, a string join
 * or a re-encoding per record.
 */
import { asciiBytes, JsonBytes } from "../log/index.ts";
import type { KernelClock } from "./clock.ts";

/** Each member name of a flow record with its punctuation, encoded once (shared with chunk-line.ts). */
const N = (name: string, first = false) => asciiBytes(`${first ? "{" : ","}"${name}":`);
export const KEYS = {
  BYTES: N("bytes", true), BYTES_TOTAL: N("bytes_total"), DPORT: N("dport"), DST: N("dst"), DST_TOKEN: N("dst_token"),
  FAMILY: N("family"), FIRST_SEEN: N("first_seen"), FRAGMENTS: N("fragments"), ICMP_CODE: N("icmp_code"), ICMP_TYPE: N("icmp_type"),
  IFACE: N("iface"), LAST_SEEN: N("last_seen"), PACKETS: N("packets"), PACKETS_TOTAL: N("packets_total"), PROTO: N("proto"),
  REASON: N("reason"), RID: N("rid"), SEALED: N("sealed"), SPIKES_TOTAL: N("spikes_total"), SPORT: N("sport"), SRC: N("src"),
  SRC_TOKEN: N("src_token"), TCP_FLAGS: N("tcp_flags"), TIMING_FLAGS_TOTAL: N("timing_flags_total"), VLAN: N("vlan"), VLAN_INNER: N("vlan_inner"),
} as const;
export const CLOSE = 0x7d;

/** RFC 3339 times of kernel timestamps, written from a per-second prefix (toISOString once a second, not twice a record). */
export class IsoTimes {
  private second = NaN;
  private prefix: Uint8Array = new Uint8Array(0);

  constructor(private readonly clock: KernelClock) {}

  /** A kernel timestamp held as a Number (KernelClock.msOf). */
  writeNs(w: JsonBytes, monoNs: number): void {
    this.writeMs(w, this.clock.msOf(monoNs));
  }

  private writeMs(w: JsonBytes, ms: number): void {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = asciiBytes(`"${new Date(second * 1000).toISOString().slice(0, 20)}`); // "YYYY-MM-DDTHH:MM:SS.
    }
    w.bytes(this.prefix);
    const m = ms - second * 1000;
    w.ensure(5);
    w.buf[w.pos++] = 48 + Math.floor(m / 100);
    w.buf[w.pos++] = 48 + (Math.floor(m / 10) % 10);
    w.buf[w.pos++] = 48 + (m % 10);
    w.buf[w.pos++] = 0x5a; // Z
    w.buf[w.pos++] = 0x22;
  }
}

/** Member values that repeat across records, encoded once (interface names by ifindex, reasons). */
export class StringCache {
  private readonly cache = new Map<string, Uint8Array>();

  write(w: JsonBytes, s: string): void {
    let b = this.cache.get(s);
    if (!b) {
      const t = new JsonBytes(s.length + 8);
      t.string(s);
      this.cache.set(s, (b = t.buf.slice(0, t.pos)));
    }
    w.bytes(b);
  }
}
