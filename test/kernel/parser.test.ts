/**
 * The XDP parser, frame by frame, through BPF_PROG_TEST_RUN on the real kernel (needs root).
 * Each case asserts the flow the program recorded (or that it recorded none) and the counters.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { formatAddress } from "../../src/mask/format.ts";
import { monotonicNs } from "../../ffi/libc.ts";
import {
  ah, concat, eth, ETH_P, ext, fragment6, icmp, IPPROTO, ipv4, ipv6, tcp, udp, v4Frame, v6Frame,
} from "../support/frames.ts";
import { loadForTest, OBJECTS, XDP_PASS } from "../support/bpf.ts";

// Every case runs on both builds of the program: the one for kernels before 5.12 must parse alike.
let prog: ReturnType<typeof loadForTest>;

const A4 = "198.18.7.1", B4 = "198.18.7.2", A6 = "fd00:7::1", B6 = "fd00:7::2";

function only() {
  const flows = prog.flows();
  expect(flows).toHaveLength(1);
  const f = flows[0]!;
  return { ...f.key, src: formatAddress(f.key.family, f.key.src), dst: formatAddress(f.key.family, f.key.dst), ...f.counts };
}

function expectNoFlowAndMalformed(frame: Uint8Array) {
  expect(prog.run(frame)).toBe(XDP_PASS);
  expect(prog.flows()).toHaveLength(0);
  const c = prog.counters();
  expect(c.malformed).toBe(1n);
  expect(c.packets).toBe(1n);
}

function cases(): void {
  describe("[kernel] well-formed frames become flows", () => {
    test("IPv4/TCP: 5-tuple, IP bytes, TCP flags ORed over packets", () => {
      const syn = v4Frame({ src: A4, dst: B4, proto: IPPROTO.TCP }, tcp(40000, 443, 0x02));
      const ack = v4Frame({ src: A4, dst: B4, proto: IPPROTO.TCP }, tcp(40000, 443, 0x10));
      const before = monotonicNs();
      expect(prog.run(syn.frame)).toBe(XDP_PASS);
      expect(prog.run(ack.frame)).toBe(XDP_PASS);
      const after = monotonicNs();
      const f = only();
      expect(f).toMatchObject({ family: 4, proto: 6, src: A4, dst: B4, sport: 40000, dport: 443, vlan: 0, packets: 2n, tcpFlags: 0x12 });
      expect(f.bytes).toBe(BigInt(syn.ipBytes + ack.ipBytes));
      // Times are the kernel's CLOCK_MONOTONIC, the clock the collector converts from.
      expect(f.firstSeenNs).toBeGreaterThanOrEqual(before);
      expect(f.lastSeenNs).toBeGreaterThanOrEqual(f.firstSeenNs);
      expect(f.lastSeenNs).toBeLessThanOrEqual(after);
      expect(prog.counters().ipv4).toBe(2n);
    });

    test("IPv4 with options: ports found after a 24-byte header", () => {
      const { frame, ipBytes } = v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, options: [0x94, 0x04, 0, 0] }, udp(5353, 53, 10));
      prog.run(frame);
      expect(only()).toMatchObject({ proto: 17, sport: 5353, dport: 53, bytes: BigInt(ipBytes) });
    });

    test("bytes count the IP packet, not Ethernet padding", () => {
      const { frame, ipBytes } = v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP }, udp(1, 2));
      prog.run(concat(frame, new Uint8Array(60 - frame.length))); // padded to the Ethernet minimum
      expect(only().bytes).toBe(BigInt(ipBytes));
    });

    test("IPv4 fragments: counted; ports only from the first fragment", () => {
      const first = v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, moreFragments: true }, udp(7000, 8000, 24));
      const later = v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, fragOffset: 4 }, new Uint8Array(16).fill(0xee));
      prog.run(first.frame);
      prog.run(later.frame);
      const flows = prog.flows().map((f) => ({ sport: f.key.sport, dport: f.key.dport, packets: f.counts.packets, fragments: f.counts.fragments }));
      expect(flows).toContainEqual({ sport: 7000, dport: 8000, packets: 1n, fragments: 1 });
      expect(flows).toContainEqual({ sport: 0, dport: 0, packets: 1n, fragments: 1 });
      expect(prog.counters().fragments).toBe(2n);
    });

    test("ICMP: type and code in dport", () => {
      prog.run(v4Frame({ src: A4, dst: B4, proto: IPPROTO.ICMP }, icmp(8, 0)).frame);
      expect(only()).toMatchObject({ proto: 1, sport: 0, dport: 8 << 8 });
    });

    test("IPv6/UDP", () => {
      const { frame, ipBytes } = v6Frame(A6, B6, IPPROTO.UDP, [udp(1000, 2000, 3)]);
      prog.run(frame);
      expect(only()).toMatchObject({ family: 6, proto: 17, src: A6, dst: B6, sport: 1000, dport: 2000, bytes: BigInt(ipBytes) });
      expect(prog.counters().ipv6).toBe(1n);
    });

    test("IPv6 with hop-by-hop and destination options before TCP", () => {
      const { frame } = v6Frame(A6, B6, IPPROTO.HOPOPTS, [ext(IPPROTO.DSTOPTS), ext(IPPROTO.TCP, 1), tcp(5555, 22, 0x18)]);
      prog.run(frame);
      expect(only()).toMatchObject({ family: 6, proto: 6, sport: 5555, dport: 22, tcpFlags: 0x18 });
    });

    test("IPv6 routing header, then ICMPv6", () => {
      prog.run(v6Frame(A6, B6, IPPROTO.ROUTING, [ext(IPPROTO.ICMPV6), icmp(128, 0)]).frame);
      expect(only()).toMatchObject({ proto: 58, sport: 0, dport: 128 << 8 });
    });

    test("IPv6 Authentication Header of the minimum 12 bytes (length field 1), then UDP", () => {
      prog.run(v6Frame(A6, B6, IPPROTO.AH, [ah(IPPROTO.UDP, 1), udp(7, 8)]).frame);
      expect(only()).toMatchObject({ family: 6, proto: 17, sport: 7, dport: 8 });
    });

    test("IPv6 Authentication Header with a 12-byte ICV (length field 4), then TCP", () => {
      prog.run(v6Frame(A6, B6, IPPROTO.HOPOPTS, [ext(IPPROTO.AH), ah(IPPROTO.TCP, 4), tcp(9, 10, 0x02)]).frame);
      expect(only()).toMatchObject({ proto: 6, sport: 9, dport: 10, tcpFlags: 0x02 });
    });

    test("IPv6 fragments: first has ports, later ones none", () => {
      prog.run(v6Frame(A6, B6, IPPROTO.FRAGMENT, [fragment6(IPPROTO.UDP, 0, true), udp(9, 10, 8)]).frame);
      prog.run(v6Frame(A6, B6, IPPROTO.FRAGMENT, [fragment6(IPPROTO.UDP, 2, false), new Uint8Array(8)]).frame);
      const ports = prog.flows().map((f) => [f.key.proto, f.key.sport, f.key.dport, f.counts.fragments]);
      expect(ports).toContainEqual([17, 9, 10, 1]);
      expect(ports).toContainEqual([17, 0, 0, 1]);
    });

    test("802.1Q: VLAN ID recorded, flow parsed behind the tag", () => {
      prog.run(v4Frame({ src: A4, dst: B4, proto: IPPROTO.TCP }, tcp(1, 80, 2), [{ tpid: ETH_P.VLAN, vid: 42 }]).frame);
      expect(only()).toMatchObject({ vlan: 42, vlanInner: 0, sport: 1, dport: 80 });
      expect(prog.counters().vlan_tagged).toBe(1n);
    });

    test("QinQ (802.1ad outer, 802.1Q inner) over IPv6", () => {
      const tags = [{ tpid: ETH_P.QINQ, vid: 100 }, { tpid: ETH_P.VLAN, vid: 200 }];
      prog.run(v6Frame(A6, B6, IPPROTO.UDP, [udp(3, 4)], tags).frame);
      expect(only()).toMatchObject({ family: 6, vlan: 100, vlanInner: 200, sport: 3, dport: 4 });
    });

    test("other L4 protocols become flows without ports", () => {
      prog.run(v4Frame({ src: A4, dst: B4, proto: IPPROTO.GRE }, new Uint8Array(8)).frame);
      expect(only()).toMatchObject({ proto: 47, sport: 0, dport: 0 });
    });
  });

  describe("[kernel] non-IP and malformed frames are passed and never become flows", () => {
    test("ARP counts as non-IP", () => {
      expect(prog.run(concat(eth(ETH_P.ARP), new Uint8Array(28)))).toBe(XDP_PASS);
      expect(prog.flows()).toHaveLength(0);
      expect(prog.counters().non_ip).toBe(1n);
    });

    test("an Ethernet header with nothing behind it", () => {
      // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header (EINVAL), so the
      // shortest frame the program can meet is a bare header that promises IPv4.
      expect(() => prog.run(eth(ETH_P.IPV4).subarray(0, 10))).toThrow(/Invalid argument/);
      expectNoFlowAndMalformed(eth(ETH_P.IPV4));
    });

    test("VLAN tag cut short", () => {
      expectNoFlowAndMalformed(eth(ETH_P.IPV4, [{ tpid: ETH_P.VLAN, vid: 5 }]).subarray(0, 16));
    });

    test("truncated IPv4 header", () => {
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV4), ipv4({ src: A4, dst: B4, proto: 6 }, 0).subarray(0, 12)));
    });

    test("IPv4 IHL below 5", () => {
      expectNoFlowAndMalformed(v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, ihl: 4 }, udp(1, 2)).frame);
    });

    test("IPv4 IHL pointing past the end of the frame", () => {
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV4), ipv4({ src: A4, dst: B4, proto: IPPROTO.UDP, ihl: 15 }, 0)));
    });

    test("IPv4 total length shorter than its header", () => {
      expectNoFlowAndMalformed(v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, totalLength: 12 }, udp(1, 2)).frame);
    });

    test("truncated TCP header", () => {
      expectNoFlowAndMalformed(v4Frame({ src: A4, dst: B4, proto: IPPROTO.TCP }, tcp(1, 2, 2).subarray(0, 10)).frame);
    });

    test("truncated UDP header", () => {
      expectNoFlowAndMalformed(v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP }, udp(1, 2).subarray(0, 4)).frame);
    });

    test("truncated IPv6 header", () => {
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV6), ipv6(A6, B6, IPPROTO.UDP, 8).subarray(0, 30)));
    });

    test("IPv6 extension header running past the end", () => {
      expectNoFlowAndMalformed(v6Frame(A6, B6, IPPROTO.HOPOPTS, [ext(IPPROTO.UDP, 4).subarray(0, 8)]).frame);
    });

    test("an IPv6 extension-header chain longer than the walk", () => {
      const chain = Array.from({ length: 12 }, () => ext(IPPROTO.DSTOPTS));
      expectNoFlowAndMalformed(v6Frame(A6, B6, IPPROTO.DSTOPTS, [...chain, udp(1, 2)]).frame);
      expect(prog.counters().ext_hdr_limit).toBe(1n);
    });
  });

  describe("[kernel] headers are read only inside the IP packet, and never shorter than their fixed part", () => {
    const pad = (frame: Uint8Array, to: number) => concat(frame, new Uint8Array(Math.max(0, to - frame.length)));

    test("an Authentication Header whose length field says 8 bytes (below AH's 12) is malformed", () => {
      // Read as 8 bytes, the walk would land in the SPI and take the sequence number for UDP.
      expectNoFlowAndMalformed(v6Frame(A6, B6, IPPROTO.AH, [ah(IPPROTO.UDP, 0), udp(7, 8)]).frame);
    });

    test("IPv4: a TCP header after the total length, in the frame's padding, is not read", () => {
      const ip = ipv4({ src: A4, dst: B4, proto: IPPROTO.TCP, totalLength: 20 }, 0);
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV4), ip, tcp(40000, 443, 0x02)));
    });

    test("IPv4: a TCP header that ends one byte past the total length is malformed", () => {
      const ip = ipv4({ src: A4, dst: B4, proto: IPPROTO.TCP, totalLength: 39 }, 0);
      expectNoFlowAndMalformed(pad(concat(eth(ETH_P.IPV4), ip, tcp(1, 2, 0x10)), 64));
    });

    test("IPv4: a UDP header in the padding of a first fragment is not read", () => {
      const ip = ipv4({ src: A4, dst: B4, proto: IPPROTO.UDP, totalLength: 24, moreFragments: true }, 0);
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV4), ip, udp(1, 2)));
    });

    test("IPv6: payload length 0 leaves no room for the UDP header behind it", () => {
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV6), ipv6(A6, B6, IPPROTO.UDP, 0), udp(1, 2)));
    });

    test("IPv6: an extension header that runs past the payload length is malformed", () => {
      // 8 bytes of payload hold the hop-by-hop header; the UDP header after it is padding.
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV6), ipv6(A6, B6, IPPROTO.HOPOPTS, 8), ext(IPPROTO.UDP), udp(1, 2)));
      prog.reset();
      // A 16-byte destination-options header in a 12-byte payload.
      expectNoFlowAndMalformed(pad(concat(eth(ETH_P.IPV6), ipv6(A6, B6, IPPROTO.DSTOPTS, 12), ext(IPPROTO.NONE, 1)), 100));
    });

    test("IPv4 claiming a total length longer than the frame is malformed, its claim never counted", () => {
      const { frame } = v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP, totalLength: 1500 }, udp(1, 2, 4));
      expectNoFlowAndMalformed(frame);
      expect(prog.counters().bytes).toBe(BigInt(frame.length));
    });

    test("IPv6 claiming a payload longer than the frame is malformed", () => {
      expectNoFlowAndMalformed(concat(eth(ETH_P.IPV6), ipv6(A6, B6, IPPROTO.UDP, 9), udp(1, 2)));
    });

    test("a UDP length below its 8-byte header is malformed", () => {
      const u = udp(1, 2, 4);
      u.set([0, 7], 4);
      expectNoFlowAndMalformed(v4Frame({ src: A4, dst: B4, proto: IPPROTO.UDP }, u).frame);
    });

    test("padding after a whole packet changes nothing: same flow, bytes from the header", () => {
      for (const [frame, ipBytes] of [
        [v6Frame(A6, B6, IPPROTO.HOPOPTS, [ext(IPPROTO.TCP), tcp(5, 6, 0x11)]).frame, 40 + 8 + 20],
        [v4Frame({ src: A4, dst: B4, proto: IPPROTO.ICMP }, icmp(0, 0)).frame, 28],
      ] as const) {
        prog.reset();
        prog.run(pad(frame, frame.length + 37));
        expect(only().bytes).toBe(BigInt(ipBytes));
        expect(prog.counters().malformed).toBe(0n);
      }
    });
  });
}

for (const o of OBJECTS) {
  describe(o.name, () => {
    beforeAll(() => { prog = loadForTest({}, undefined, o.path); });
    afterAll(() => prog?.cleanup());
    beforeEach(() => prog.reset());
    cases();
  });
}
