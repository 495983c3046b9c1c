/**
 * Run inside the lab's server namespace: the real XDP program attached to the server's veth, the real flow map
 * read every cycle with FlowMapReader, each flow's growth since the last read fed to the detector (a flow is
 * new on its first read, or when its first_seen changed), anomalies printed as JSON lines. Stops on SIGTERM,
 * detaching and removing its pins.
 *
 *   bun _watch.ts DEV PIN_DIR CYCLE_MS DETECT_OPTIONS_JSON
 */
import { rmSync } from "node:fs";
import { AnomalyDetector, type DetectFlow } from "../../src/detect/index.ts";
import { DEFAULT_CONFIG, XdpAuditor, FlowMapReader } from "../../src/kernel/index.ts";
import { OBJECT } from "../support/bpf.ts";

const [dev, pinDir, cycleMsText, optsJson] = process.argv.slice(2) as [string, string, string, string];
const cycleMs = Number(cycleMsText);
const auditor = XdpAuditor.load({ objectPath: OBJECT, pinDir });
auditor.configure(DEFAULT_CONFIG);
auditor.attach(dev, "auto");
const reader = new FlowMapReader(auditor.mapFd("flows"));
const detector = new AnomalyDetector(JSON.parse(optsJson));

const text = (family: number, a: Uint8Array) => family === 4 ? [...a.subarray(0, 4)].join(".") : Buffer.from(a).toString("hex");
/** A /24 (IPv4) or /48 (IPv6), as the masker's defaults show sources in evidence. */
const masked = (family: number, a: Uint8Array) => family === 4 ? `${[...a.subarray(0, 3)].join(".")}.0/24` : `${Buffer.from(a.subarray(0, 6)).toString("hex")}::/48`;

const seen = new Map<string, { packets: bigint; bytes: bigint; first: bigint }>();
let stop = false;
process.on("SIGTERM", () => { stop = true; });
console.log(JSON.stringify({ ready: true }));
let cycle = 0;
let last = performance.now();
while (!stop) {
  await Bun.sleep(cycleMs - ((performance.now() - last) % cycleMs));
  const now = performance.now();
  const seconds = (now - last) / 1000;
  last = now;
  const flows: DetectFlow[] = [];
  for (const f of reader.readAll()) {
    const id = Buffer.from(f.rawKey).toString("hex");
    const prev = seen.get(id);
    const isNew = !prev || prev.first !== f.counts.firstSeenNs;
    const packets = Number(f.counts.packets - (isNew ? 0n : prev!.packets));
    if (packets === 0) continue;
    seen.set(id, { packets: f.counts.packets, bytes: f.counts.bytes, first: f.counts.firstSeenNs });
    const k = f.key;
    flows.push({
      proto: k.proto, ifindex: k.ifindex, src: masked(k.family, k.src), dst: masked(k.family, k.dst), dstId: text(k.family, k.dst),
      sport: k.sport, dport: k.dport, packets, bytes: Number(f.counts.bytes - (isNew ? 0n : prev!.bytes)), tcpFlags: f.counts.tcpFlags, isNew,
    });
  }
  cycle++;
  const found = detector.observe(flows, seconds);
  // New flows by destination port, so a test can see the steady traffic was there.
  const newByPort: Record<number, number> = {};
  for (const f of flows) if (f.isNew) newByPort[f.dport] = (newByPort[f.dport] ?? 0) + 1;
  console.log(JSON.stringify({ cycle, flows: flows.length, newByPort, anomalies: found }));
}
auditor.detachAll();
auditor.close();
rmSync(pinDir, { recursive: true, force: true });
console.log(JSON.stringify({ stopped: true }));
