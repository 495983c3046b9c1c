/**
 * The whole agent on the lab (needs root): real traffic becomes masked flow records whose sums
 * equal the kernel's counts, a real Prometheus scrapes it, the log verifies offline, a stop
 * under traffic loses nothing, and a SIGKILLed agent's successor continues the same
 * verifiable log without silent double counts. No test sleeps and hopes a cycle has run: each
 * waits for what it needs to see (a metric, a record, a flow leaving the map).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";
import { closeFd, objGet } from "../../ffi/libbpf.ts";
import { MAPS, readCounters } from "../../src/kernel/index.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;
let prometheus: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  setup = await agentSetup("agent");
  lab = createLab();
  pinDir = uniquePinDir("agent");
  tmp = mkdtempSync("/tmp/ato-agent-test-");
  const pub = atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env);
  expect(pub.code).toBe(0);
});
afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
  prometheus?.kill();
  await prometheus?.exited;
  prometheus = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

const run = () => Agent.start(lab.server.ns, [
  "--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--checkpoint-seconds", "1", "--active-timeout", "1", ...setup.args,
], setup.env);

/** Polls `check` until it holds; fails naming `what` after `ms`. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const flowsTo = async (port: number) => ((await setup.records()) as Rec[]).filter((r) => r.kind === "flow" && r.data.dport === port);
const packetsOf = (recs: Rec[]) => recs.reduce((sum, r) => sum + r.data.packets, 0);

/** Inside the server namespace, where the agent's loopback listener is. */
function curl(url: string): string {
  return lab.exec("server", ["curl", "-sf", url]);
}

type Rec = { kind: string; data: Record<string, any> };
const flowId = (d: Record<string, any>) => `${d.proto}/${d.sport ?? 0}/${d.dport ?? 0}/${d.icmp_type ?? ""}`;

function kernelCounts(): Map<string, { packets: number; bytes: number }> {
  const r = atoIn(lab.server.ns, ["flows", "--pin-dir", pinDir, "--json", "--top", "100000"]);
  expect(r.code).toBe(0);
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const f of JSON.parse(r.stdout)) {
    const icmp = f.proto === 1 || f.proto === 58;
    const id = `${f.proto}/${icmp ? 0 : f.sport}/${icmp ? 0 : f.dport}/${icmp ? f.dport >> 8 : ""}`;
    const c = out.get(id) ?? { packets: 0, bytes: 0 };
    out.set(id, { packets: c.packets + f.packets, bytes: c.bytes + f.bytes });
  }
  return out;
}

function evidenceSums(records: Rec[]): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const r of records.filter((x) => x.kind === "flow")) {
    const c = out.get(flowId(r.data)) ?? { packets: 0, bytes: 0 };
    out.set(flowId(r.data), { packets: c.packets + r.data.packets, bytes: c.bytes + r.data.bytes });
  }
  return out;
}

describe("[kernel][hsm] the agent end to end", () => {
  test("evidence sums equal the kernel's counts; Prometheus scrapes signed evidence; the log verifies", async () => {
    agent = run();
    await agent.waitFor(/metrics on (http:\S+)/);
    await agent.waitFor(/attached on/);
    const url = agent.output.match(/metrics on (http:\S+)/)![1]!;

    // A real Prometheus from Debian's package, in the same namespace, scraping every second.
    const port = 19000 + Math.floor(Math.random() * 1000);
    writeFileSync(`${tmp}/prometheus.yml`, `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: ato\n    static_configs: [{ targets: ["${new URL(url).host}"] }]\n`);
    prometheus = Bun.spawn(["ip", "netns", "exec", lab.server.ns, "prometheus", `--config.file=${tmp}/prometheus.yml`,
      `--storage.tsdb.path=${tmp}/tsdb`, `--web.listen-address=127.0.0.1:${port}`], { stdout: "ignore", stderr: "ignore" });

    lab.exec("client", ["ping", "-c", "10", "-i", "0.05", "-q", lab.server.v4]);
    sendUdp(lab, lab.server.v4, 6001, 50, 200);
    sendUdp(lab, lab.server.v6, 6002, 30, 300);
    // A collector cycle has counted the traffic and a checkpoint has been signed.
    const udpPackets = (m: string) => Number(m.match(/^ato_packets_total\{proto="udp",direction="ingress"\} (\d+)/m)?.[1] ?? 0);
    await until(() => { const m = curl(url); return udpPackets(m) >= 80 && /^ato_signed_evidence_total [1-9]/m.test(m); }, "udp packets and a signed checkpoint in /metrics");

    let value = 0;
    for (let i = 0; i < 60 && value <= 0; i++) {
      await Bun.sleep(500);
      const q = lab.exec("server", ["curl", "-s", `http://127.0.0.1:${port}/api/v1/query?query=ato_signed_evidence_total`], { allowFail: true });
      try { value = Number(JSON.parse(q).data.result[0]?.value[1] ?? 0); } catch { value = 0; }
    }
    expect(value).toBeGreaterThan(0);

    // The kernel's own counters are read at the scrape: between two reads of the pinned map around it (the
    // client's ARP request before its first ping is a non-IP frame). The worker may answer with an exposition up
    // to a second old (Prometheus scrapes this agent too), so the first read comes more than a second before.
    const fd = objGet(`${pinDir}/${MAPS.counters}`);
    try {
      const before = readCounters(fd).non_ip;
      await Bun.sleep(1100);
      const scraped = Number(curl(url).match(/^ato_kernel_non_ip_total (\d+)/m)?.[1]);
      const after = readCounters(fd).non_ip;
      expect(scraped).toBeGreaterThanOrEqual(1);
      expect(BigInt(scraped) >= before && BigInt(scraped) <= after).toBe(true);
    } finally {
      closeFd(fd);
    }

    expect(await agent.stop()).toBe(0);
    expect(agent.output).toMatch(/final checkpoint at tree size \d+ signature_status=ok/);

    // Every packet the kernel counted is in exactly one flow record's growth.
    const records = (await setup.records()) as Rec[];
    const kernel = kernelCounts();
    const evidence = evidenceSums(records);
    expect(evidence.get("17/0/6001/")).toBeUndefined(); // ports are kept: no anonymous UDP flow
    for (const [id, k] of kernel) expect({ id, ...evidence.get(id) }).toEqual({ id, ...k });
    expect([...evidence.keys()].sort()).toEqual([...kernel.keys()].sort());
    const udp = [...evidence.entries()].filter(([id]) => id.endsWith("/6001/")).map(([, c]) => c.packets);
    expect(udp).toEqual([50]);
    // Addresses are masked to /24 and /48.
    for (const r of records.filter((x) => x.kind === "flow")) expect(r.data.src).toMatch(/\.0\/24$|::\/48$/);

    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect({ code: v.code, out: v.stdout.split("\n")[0] }).toMatchObject({ code: 0 });
  });

  test("after SIGKILL a restarted agent continues the log; what it could not attribute is stated", async () => {
    agent = run();
    await agent.waitFor(/attached on/);
    sendUdp(lab, lab.server.v4, 6101, 20, 64, [0], 46101);
    await until(async () => packetsOf(await flowsTo(6101)) === 20, "the 20 packets in the evidence");
    agent.kill();
    await agent.proc.exited;
    sendUdp(lab, lab.server.v4, 6101, 15, 64, [0], 46101); // counted while no agent runs (the program stays attached)

    const before = ((await setup.records()) as Rec[]).length;
    agent = run();
    await agent.waitFor(/attached on .*replaced_stale=true/);
    sendUdp(lab, lab.server.v4, 6101, 7, 64, [0], 46101);
    expect(await agent.stop()).toBe(0); // its final collection records them

    const all = (await setup.records()) as Rec[];
    const after = all.slice(before);
    const start = after.find((r) => r.kind === "agent" && r.data.event === "start")!;
    expect(start.data.preexisting_flows).toBeGreaterThan(0);
    // After the restart, the records carry only growth beyond what the start record declared.
    const flow = after.filter((r) => r.kind === "flow" && r.data.dport === 6101);
    expect(flow.reduce((s, r) => s + r.data.packets, 0)).toBe(7);
    expect(flow.at(-1)!.data.packets_total).toBe(42);

    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect(v.code).toBe(0);
  });

  test("with a sealing key, a key holder reveals a record's unmasked addresses; a wrong key cannot", async () => {
    const sealKey = "5a".repeat(32);
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--seal", ...setup.args],
      { ...setup.env, ATO_SEAL_KEY: sealKey });
    await agent.waitFor(/attached on/);
    sendUdp(lab, lab.server.v4, 6201, 3, 32, [0], 46201);
    expect(await agent.stop()).toBe(0);
    expect(agent.output).not.toContain(sealKey);

    const rec = ((await setup.records()) as (Rec & { seq: number })[]).find((r) => r.kind === "flow" && r.data.sealed && r.data.src.endsWith("/24"))!;
    expect(rec.data.dport).toBeUndefined(); // masked: no ports
    const shown = atoIn(null, ["reveal", setup.auditDir, "--seq", String(rec.seq)], { ATO_SEAL_KEY: sealKey });
    expect(shown.code).toBe(0);
    const fields = JSON.parse(shown.stdout);
    expect(fields.src).toBe(lab.client.v4);
    expect(fields.dst).toBe(lab.server.v4);

    const wrong = atoIn(null, ["reveal", setup.auditDir, "--seq", String(rec.seq)], { ATO_SEAL_KEY: "6b".repeat(32) });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).not.toContain(lab.client.v4);
    expect(wrong.stderr).not.toContain("6b6b");
  });

  test("idle flows are removed from the map without losing a count", async () => {
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--idle-timeout", "1", ...setup.args], setup.env);
    await agent.waitFor(/attached on/);
    sendUdp(lab, lab.server.v4, 6301, 12, 16, [0], 46301);
    // Idle for longer than the timeout, the collector takes it out of the map.
    await until(() => !kernelCounts().has("17/46301/6301/"), "the idle flow to leave the map");
    sendUdp(lab, lab.server.v4, 6301, 5, 16, [0], 46301); // the same 5-tuple comes back: a new entry
    expect(await agent.stop()).toBe(0);
    const recs = ((await setup.records()) as Rec[]).filter((r) => r.kind === "flow" && r.data.dport === 6301);
    expect(recs.reduce((s, r) => s + r.data.packets, 0)).toBe(17);
    // The first entry's running total reached 12; after its removal the flow restarted from 0.
    expect(recs.map((r) => [r.data.packets_total, r.data.reason])).toEqual([[12, "idle"], [5, "shutdown"]]); // the default active timeout (60 s) never came
    const inMap = [...kernelCounts().entries()].filter(([id]) => id === "17/46301/6301/");
    expect(inMap.map(([, c]) => c.packets)).toEqual([5]);
  });

  test("a stop under traffic loses nothing: the program is detached before the last read, events raised meanwhile are recorded", async () => {
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all",
      "--spike-threshold", "20", "--spike-window-ms", "50", "--active-timeout", "1", ...setup.args], setup.env);
    await agent.waitFor(/attached on/);
    // One UDP flow, sent as fast as python can until killed: it runs through the whole stop.
    const py = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('',46401))\nwhile True: s.sendto(b'x'*16,(sys.argv[1],6401))";
    const sender = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "python3", "-c", py, lab.server.v4], { stdout: "ignore", stderr: "ignore" });
    try {
      await until(async () => (await flowsTo(6401)).length >= 2, "two active-timeout records of the flood");
      expect(await agent.stop()).toBe(0);
    } finally {
      sender.kill();
      await sender.exited;
    }
    expect(agent.output).not.toMatch(/closed|collection failed/);
    const recs = await flowsTo(6401);
    const inMap = kernelCounts().get("17/46401/6401/")!;
    expect(inMap.packets).toBeGreaterThan(1000);
    expect({ packets: packetsOf(recs), last_total: recs.at(-1)!.data.packets_total }).toEqual({ packets: inMap.packets, last_total: inMap.packets });
    expect(recs.slice(0, 2).map((r) => r.data.reason)).toEqual(["active", "active"]);
    expect(recs.at(-1)!.data.reason).toBe("shutdown");
    const spikes = ((await setup.records()) as Rec[]).filter((r) => r.kind === "spike" && r.data.dport === 6401);
    expect(spikes.length).toBeGreaterThan(0);
  });
});
