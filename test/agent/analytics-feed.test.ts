/**
 * The detectors' live feed (src/agent/detect.ts) reads flows straight from the map reading's buffer: its
 * sources and destinations are the strings the Masker writes into evidence (IPv4 and IPv6, several prefixes),
 * its ports, protocol, interface, growth and flags those of the key and counts, and each cycle starts empty.
 */
import { describe, expect, test } from "bun:test";
import { LiveDetectFeed } from "../../src/agent/detect.ts";
import { encodeKey, FlowBatch, flowNumbers } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";

const slot = (bytes: number[]) => { const s = new Uint8Array(16); s.set(bytes); return s; };
const FLOWS = [
  { family: 4 as const, proto: 6, src: slot([198, 18, 7, 201]), dst: slot([203, 0, 113, 9]), sport: 40001, dport: 443, vlan: 0, vlanInner: 0, ifindex: 3 },
  { family: 4 as const, proto: 17, src: slot([10, 255, 128, 1]), dst: slot([192, 0, 2, 255]), sport: 5353, dport: 53, vlan: 0, vlanInner: 0, ifindex: 7 },
  { family: 6 as const, proto: 6, src: slot([0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 1]), dst: slot([0xfd, 0, 0, 0x2a, 0xff, 0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), sport: 1, dport: 22, vlan: 0, vlanInner: 0, ifindex: 2 },
];

describe("the detectors' live feed", () => {
  for (const [v4, v6] of [[24, 48], [16, 64], [32, 128], [8, 32]] as const) {
    test(`masked as evidence masks them (IPv4 /${v4}, IPv6 /${v6}); key, growth and flags as read`, () => {
      const b = new FlowBatch(FLOWS.length, 1);
      FLOWS.forEach((k, i) => b.keys.set(encodeKey(k), i * 48));
      b.n = FLOWS.length;
      const feed = new LiveDetectFeed(v4, v6);
      const counts = flowNumbers({ packets: 9n, bytes: 900n, firstSeenNs: 1n, lastSeenNs: 2n, tcpFlags: 0x02, fragments: 0, timingFlags: 0, spikes: 0 });
      FLOWS.forEach((_, i) => feed.onRead(b, i, { packets: 3, bytes: 300 + i }, i === 0, counts));
      const got = feed.take();
      const masker = Masker.open({ ipv4Prefix: v4, ipv6Prefix: v6 });
      try {
        const masked = masker.maskFlows(FLOWS);
        expect(got.map((f) => [f.src, f.dst])).toEqual(masked.map((m) => [m.src, m.dst]));
      } finally {
        masker.close();
      }
      expect(got.map((f) => [f.proto, f.ifindex, f.sport, f.dport, f.packets, f.bytes, f.tcpFlags, f.isNew])).toEqual(
        FLOWS.map((k, i) => [k.proto, k.ifindex, k.sport, k.dport, 3, 300 + i, 0x02, i === 0]));
      expect(new Set(got.map((f) => f.dstId)).size).toBe(3); // distinct destinations stay distinct
      expect(feed.take()).toEqual([]);
    });
  }
});
