/**
 * `ato run --ipfix`: every flow record the agent writes leaves as an IPFIX record to the collector, with the
 * same growth. A real agent on the lab, real traffic (ICMP, ICMPv6, UDP over IPv4 and IPv6, one flow that goes
 * idle and comes back), a real nfcapd in the server's namespace; at stop, nfdump reads back one record per
 * evidence flow record, with the same packets and bytes per flow. The reason mapping (flowEndReason) is pinned
 * by the function the agent uses.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { ipfixFlow } from "../../src/agent/ipfix.ts";
import type { ExportedFlow, ExportReason } from "../../src/collector/index.ts";
import { END_REASON } from "../../src/ipfix/index.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";
import { Nfcapd } from "../ipfix/_collectors.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let nf: Nfcapd | undefined;
let pinDir: string;
let tmp: string;

beforeAll(async () => {
  setup = await agentSetup("ipfix");
  lab = createLab();
  pinDir = uniquePinDir("agent-ipfix");
  tmp = mkdtempSync("/tmp/ato-agent-ipfix-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
});
afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
  await nf?.stop();
  nf = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

type Rec = { kind: string; data: Record<string, any> };
/** A flow as both sides can name it: protocol and ports (ICMP: type and code), which the lab's two hosts make unique. */
const idOf = (proto: number, sport: number, dport: number) => `${proto}/${sport}/${dport}`;

function sums<T>(rows: T[], id: (r: T) => string, n: (r: T) => { packets: number; bytes: number }) {
  const out = new Map<string, { packets: number; bytes: number; records: number }>();
  for (const r of rows) {
    const c = out.get(id(r)) ?? { packets: 0, bytes: 0, records: 0 };
    const v = n(r);
    out.set(id(r), { packets: c.packets + v.packets, bytes: c.bytes + v.bytes, records: c.records + 1 });
  }
  return out;
}

/** Evidence keeps ICMP type and code as fields; IPFIX and nfdump put type << 8 | code in the destination port. */
const evidenceId = (d: Record<string, any>) => d.proto === 1 || d.proto === 58
  ? idOf(d.proto, 0, ((d.icmp_type ?? 0) << 8) | (d.icmp_code ?? 0))
  : idOf(d.proto, d.sport ?? 0, d.dport ?? 0);

describe("[kernel][hsm] ato run --ipfix", () => {
  test("nfcapd receives one IPFIX record per evidence flow record, with the same packets and bytes per flow", async () => {
    nf = await Nfcapd.start(lab.server.ns);
    agent = Agent.start(lab.server.ns, [
      "--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--active-timeout", "1", "--idle-timeout", "1",
      "--ipfix", `udp://127.0.0.1:${nf.port}`, "--ipfix-addresses", "unmasked", ...setup.args,
    ], setup.env);
    await agent.waitFor(/attached on/);
    await agent.waitFor(/exporting IPFIX to udp:\/\/127\.0\.0\.1:\d+ \(addresses unmasked\)/);

    lab.exec("client", ["ping", "-c", "8", "-i", "0.05", "-q", lab.server.v4]);
    lab.exec("client", ["ping", "-6", "-c", "5", "-i", "0.05", "-q", lab.server.v6]);
    sendUdp(lab, lab.server.v4, 7101, 40, 120, [0], 47101);
    sendUdp(lab, lab.server.v6, 7102, 25, 300, [0], 47102);
    sendUdp(lab, lab.server.v4, 7103, 10, 64, [0], 47103);
    // Idle past the timeout: the flow's record leaves with reason idle; the same 5-tuple comes back as a new entry.
    const idle = async () => ((await setup.records()) as Rec[]).some((r) => r.kind === "flow" && r.data.dport === 7103 && r.data.reason === "idle");
    for (let i = 0; i < 100 && !(await idle()); i++) await Bun.sleep(100);
    expect(await idle()).toBe(true);
    sendUdp(lab, lab.server.v4, 7103, 6, 64, [0], 47103);
    expect(await agent.stop()).toBe(0);
    await nf.finish();

    const records = ((await setup.records()) as Rec[]).filter((r) => r.kind === "flow");
    const evidence = sums(records, (r) => evidenceId(r.data), (r) => r.data);
    const collected = nf.flows();
    const ipfix = sums(collected, (f) => idOf(f.proto, f.sport, f.dport), (f) => f);
    expect(collected.length).toBe(records.length);
    expect([...ipfix.keys()].sort()).toEqual([...evidence.keys()].sort());
    for (const [id, e] of evidence) expect({ id, ...ipfix.get(id) }).toEqual({ id, ...e });
    // The traffic sent is there, unmasked, as the setting says.
    expect(ipfix.get(idOf(17, 47101, 7101))).toMatchObject({ packets: 40 });
    expect(ipfix.get(idOf(17, 47103, 7103))).toMatchObject({ packets: 16, records: 2 });
    expect(collected.filter((f) => f.dport === 7101).map((f) => f.src)).toContain(lab.client.v4);
    expect(nf.info()["Sequence failures"]).toBe("0");

    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect(v.code).toBe(0);
  }, 120_000);
});

describe("flowEndReason of each export reason", () => {
  const flow = (reason: ExportReason): ExportedFlow => ({
    key: { family: 4, proto: 17, src: new Uint8Array(16), dst: new Uint8Array(16), sport: 1, dport: 2, vlan: 0, vlanInner: 0, ifindex: 3 },
    iface: "x", packets: 2, bytes: 100, fragments: 0, packetsTotal: 2, bytesTotal: 100, startMs: 1, endMs: 2,
    firstSeenNs: 1n, lastSeenNs: 2n, tcpFlags: 0, reason, seq: 7,
  });
  test("idle 1, active and interval 2, recreated 3 (end of flow detected), shutdown 4, evicted 5 (lack of resources)", () => {
    const reasons: ExportReason[] = ["idle", "active", "interval", "recreated", "shutdown", "evicted"];
    expect(reasons.map((r) => END_REASON[ipfixFlow(flow(r)).reason])).toEqual([1, 2, 2, 3, 4, 5]);
  });
});
