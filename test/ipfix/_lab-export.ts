/**
 * Run inside the lab's server namespace: the real XDP program on the server's veth; on a line "export" on
 * standard input, every flow of the real flow map goes through the real exporter to the collector given, and
 * the flows (as the kernel counted them) are printed as one JSON line. Then it detaches and removes its pins.
 *
 *   bun _lab-export.ts DEV PIN_DIR udp://127.0.0.1:PORT
 */
import { rmSync } from "node:fs";
import { monotonicNs } from "../../ffi/libc.ts";
import { IpfixExporter, type FlowExport } from "../../src/ipfix/index.ts";
import { DEFAULT_CONFIG, FlowMapReader, XdpAuditor } from "../../src/kernel/index.ts";
import { OBJECT } from "../support/bpf.ts";

const [dev, pinDir, target] = process.argv.slice(2) as [string, string, string];
const auditor = XdpAuditor.load({ objectPath: OBJECT, pinDir });
try {
  auditor.configure(DEFAULT_CONFIG);
  auditor.attach(dev, "auto");
  const reader = new FlowMapReader(auditor.mapFd("flows"));
  const ex = await IpfixExporter.open({ targets: [target], addresses: "unmasked", ipv4Prefix: 24, ipv6Prefix: 48, domain: 42, refreshSeconds: 600, refreshMessages: 1000 });
  console.log(JSON.stringify({ ready: true }));
  for await (const line of console) if (line.trim() === "export") break;
  const offsetNs = BigInt(Date.now()) * 1_000_000n - monotonicNs();
  const ms = (ns: bigint) => Number((ns + offsetNs) / 1_000_000n);
  const exports: FlowExport[] = reader.readAll().map((f) => ({
    family: f.key.family, proto: f.key.proto, src: f.key.src, dst: f.key.dst, sport: f.key.sport, dport: f.key.dport,
    packets: Number(f.counts.packets), bytes: Number(f.counts.bytes), startMs: ms(f.counts.firstSeenNs), endMs: ms(f.counts.lastSeenNs),
    tcpFlags: f.counts.tcpFlags, vlan: f.key.vlan, vlanInner: f.key.vlanInner, ifindex: f.key.ifindex, reason: "shutdown",
  }));
  ex.export(exports);
  await Bun.sleep(300);
  await ex.close();
  const hex = (a: Uint8Array, n: number) => Buffer.from(a.subarray(0, n)).toString("hex");
  console.log(JSON.stringify({ flows: exports.map((e) => ({ ...e, src: hex(e.src, e.family === 4 ? 4 : 16), dst: hex(e.dst, e.family === 4 ? 4 : 16) })) }));
} finally {
  auditor.detachAll();
  auditor.close();
  rmSync(pinDir, { recursive: true, force: true });
}
