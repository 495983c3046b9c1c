/**
 * The exporter against the collectors network teams run: what nfcapd/nfdump and pmacct's nfacctd read back is
 * exactly what was exported, flow by flow, and a message lost on the way shows as a sequence failure.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { IpfixExporter, type IpfixAddresses } from "../../src/ipfix/index.ts";
import { IpfixStream } from "../../src/ipfix/stream.ts";
import { parseTarget } from "../../src/ipfix/target.ts";
import { UdpTransport, type Transport } from "../../src/ipfix/transport.ts";
import { Nfacctd, Nfcapd } from "./_collectors.ts";
import { shapes } from "./_flows.ts";

const OPTS = { addresses: "unmasked" as IpfixAddresses, ipv4Prefix: 24, ipv6Prefix: 48, domain: 7, refreshSeconds: 600, refreshMessages: 1000 };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function exporter(port: number, o: Partial<typeof OPTS> = {}): Promise<IpfixExporter> {
  const ex = await IpfixExporter.open({ ...OPTS, ...o, targets: [`udp://127.0.0.1:${port}`] });
  cleanup.push(() => ex.close());
  return ex;
}

const key = (f: { proto: number; sport: number; dport: number }, src: string) => `${f.proto} ${src} ${f.sport} ${f.dport}`;

describe("nfcapd and nfdump", () => {
  test("read back every flow exactly: packets, bytes, addresses, ports, protocol, interface, VLAN (IPv4, IPv6, QinQ, ICMP)", async () => {
    const nf = await Nfcapd.start();
    cleanup.push(() => nf.stop());
    const flows = shapes(Date.now());
    const ex = await exporter(nf.port);
    ex.export(flows);
    await Bun.sleep(300);
    const log = await nf.finish();
    expect(log).toContain("Observation domain 7");
    const got = new Map(nf.flows().map((r) => [key(r, r.src), r]));
    expect(got.size).toBe(flows.length);
    for (const f of flows) {
      const r = got.get(key(f, f.srcText))!;
      expect(r).toBeDefined();
      expect({ packets: r.packets, bytes: r.bytes, dst: r.dst, ifindex: r.ifindex, vlan: r.vlan }).toEqual({ packets: f.packets, bytes: f.bytes, dst: f.dstText, ifindex: f.ifindex, vlan: f.vlan });
    }
    expect(got.get(key(flows[0]!, flows[0]!.srcText))!.flags).toBe("...AP.SF");
    expect(nf.info()["Sequence failures"]).toBe("0");
  });

  test("a message lost on the way is a sequence failure in nfdump -I", async () => {
    const nf = await Nfcapd.start();
    cleanup.push(() => nf.stop());
    const udp = await UdpTransport.open(parseTarget(`udp://127.0.0.1:${nf.port}`));
    cleanup.push(() => udp.close());
    // The network between exporter and collector, losing the second of three messages.
    let n = 0;
    const lossy: Transport = { target: udp.target, maxMessage: udp.maxMessage, session: () => 0, close: async () => {}, send: (m) => (++n === 2 ? true : udp.send(m)) };
    const stream = new IpfixStream(lossy, OPTS);
    const flows = shapes(Date.now());
    stream.send(flows.slice(0, 2));
    stream.send(flows.slice(2, 4));
    stream.send(flows.slice(4));
    await Bun.sleep(300);
    await nf.finish();
    expect(nf.flows().length).toBe(flows.length - 2);
    expect(nf.info()["Sequence failures"]).toBe("1");
  });

  test("masked export carries addresses as evidence records do: host bits zeroed to the configured prefixes", async () => {
    const nf = await Nfcapd.start();
    cleanup.push(() => nf.stop());
    const flows = shapes(Date.now());
    const ex = await exporter(nf.port, { addresses: "masked", ipv4Prefix: 24, ipv6Prefix: 48 });
    ex.export([flows[0]!, flows[4]!]);
    await Bun.sleep(300);
    await nf.finish();
    const got = nf.flows().map((r) => [r.src, r.dst]).sort();
    expect(got).toEqual([["198.18.1.0", "198.18.2.0"], ["2001:db8:1::", "2001:db8:2::"]]);
  });
});

describe("pmacct nfacctd", () => {
  test("reads back every flow's packets and bytes exactly, and each message's sequence number counts the data records before it", async () => {
    const acct = await Nfacctd.start();
    cleanup.push(() => acct.stop());
    const flows = shapes(Date.now());
    const ex = await exporter(acct.port);
    ex.export(flows.slice(0, 3)); // message 1: sequence 0
    ex.export(flows.slice(3)); // message 2: sequence 3
    const rows = await acct.rows(flows.length);
    expect(rows.length).toBe(flows.length);
    const byKey = new Map(rows.map((r) => [`${r.src} ${r.sport} ${r.dport}`, r]));
    flows.forEach((f, i) => {
      const r = byKey.get(`${f.srcText} ${f.sport} ${f.dport}`)!;
      expect(r).toBeDefined();
      expect({ packets: r.packets, bytes: r.bytes, vlan: r.vlan, ifindex: r.ifindex, seqno: r.seqno }).toEqual({ packets: f.packets, bytes: f.bytes, vlan: f.vlan, ifindex: f.ifindex, seqno: i < 3 ? 0 : 3 });
    });
  });
});
