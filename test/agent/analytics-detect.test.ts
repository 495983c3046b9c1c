/**
 * `ato run --detect`: a real agent on the lab. The detectors are fed each cycle from the map reading, not the
 * records: a real port scan (non-blocking connects to 600 closed ports from the client) fires `scan` for the
 * client's masked source; with the default 60 s active timeout a bulk transfer fires `bytes` and a SYN flood at
 * a closed port `failed_connections` while no flow record has been written yet. Each anomaly is an evidence
 * record that `ato verify` accepts, counted by ato_anomalies_total on /metrics. Steady light traffic before
 * (a ping a cycle) fires nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;

beforeAll(async () => {
  setup = await agentSetup("detect");
  lab = createLab();
  pinDir = uniquePinDir("agent-detect");
  tmp = mkdtempSync("/tmp/ato-agent-detect-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
});
afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

const PY_SCAN = `
import socket, sys, time
dst, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for port in range(first, last + 1):
    s = socket.socket(); s.setblocking(False); s.connect_ex((dst, port)); socks.append(s)
time.sleep(0.5)
`;

// A SYN flood at one closed port: each connect a new source port, refused with a RST the ingress hook never sees.
const PY_SYN_FLOOD = `
import socket, sys, time
dst, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket(); s.setblocking(False); s.connect_ex((dst, port)); socks.append(s)
time.sleep(0.5)
`;

type Rec = { kind: string; seq: number; data: Record<string, any> };
const anomalies = async () => ((await setup.records()) as Rec[]).filter((r) => r.kind === "anomaly");
const counted = (metrics: string, kind: string) => Number(metrics.match(new RegExp(`^ato_anomalies_total\\{kind="${kind}"\\} (\\d+)`, "m"))?.[1] ?? NaN);

describe("[kernel][hsm] ato run --detect", () => {
  test("a port scan fires scan for its masked source: an anomaly record in the verified log, counted in /metrics", async () => {
    agent = Agent.start(lab.server.ns, [
      "--iface", lab.server.dev, "--pin-dir", pinDir, "--active-timeout", "0",
      "--detect", "--detect-warmup-cycles", "10", ...setup.args,
    ], setup.env);
    await agent.waitFor(/metrics on (http:\S+)/);
    await agent.waitFor(/attached on/);
    const url = agent.output.match(/metrics on (http:\S+)/)![1]!;
    const metrics = () => lab.exec("server", ["curl", "-sf", url]);
    expect(counted(metrics(), "scan")).toBe(0); // every kind is there from the start, at 0

    // Past the warm-up (10 cycles of 200 ms), with light traffic from the client: nothing fires.
    lab.exec("client", ["ping", "-c", "15", "-i", "0.2", "-q", lab.server.v4]);
    expect(await anomalies()).toEqual([]);

    lab.exec("client", ["python3", "-c", PY_SCAN, lab.server.v4, "20000", "20599"]);
    const deadline = Date.now() + 20_000;
    while ((await anomalies()).length === 0 && Date.now() < deadline) await Bun.sleep(100);
    const scanSource = `${lab.client.v4.replace(/\.\d+$/, ".0")}/24`;
    const scans = (await anomalies()).filter((r) => r.data.anomaly === "scan");
    expect(scans.map((r) => [r.data.scope, r.data.src, r.data.unit])).toEqual([["source", scanSource, "targets"]]);
    expect(scans[0]!.data.observed).toBeGreaterThanOrEqual(50);
    expect(JSON.stringify(scans[0]!.data)).not.toContain(lab.client.v4); // the masked source only
    expect(counted(metrics(), "scan")).toBe(1);

    expect(await agent.stop()).toBe(0);
    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect({ code: v.code, err: v.stderr }).toEqual({ code: 0, err: "" });
  }, 120_000);

  test("with the 60 s active timeout, a bulk transfer fires bytes and a SYN flood failed_connections before any flow record is written", async () => {
    agent = Agent.start(lab.server.ns, [
      "--iface", lab.server.dev, "--pin-dir", pinDir, "--detect", "--detect-warmup-cycles", "10", ...setup.args,
    ], setup.env);
    await agent.waitFor(/metrics on (http:\S+)/);
    await agent.waitFor(/attached on/);
    const url = agent.output.match(/metrics on (http:\S+)/)![1]!;
    // The log goes on from the test before (same audit directory): only what this run adds counts.
    const flows = async () => ((await setup.records()) as Rec[]).filter((r) => r.kind === "flow").length;
    const flowsBefore = await flows();
    const earlier = (await anomalies()).length;
    const fresh = async () => (await anomalies()).slice(earlier);
    lab.exec("client", ["ping", "-c", "15", "-i", "0.2", "-q", lab.server.v4]);
    expect(await fresh()).toEqual([]);

    const sink = Bun.spawn(["ip", "netns", "exec", lab.server.ns, "ncat", "-l", "--recv-only", lab.server.v4, "5201"], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200);
      const started = Date.now();
      lab.exec("client", ["sh", "-c", `head -c 200000000 /dev/zero | ncat --send-only ${lab.server.v4} 5201`]);
      const deadline = Date.now() + 20_000; // a third of the active timeout: detection cannot have come from a record
      while (!(await fresh()).some((r) => r.data.anomaly === "bytes") && Date.now() < deadline) await Bun.sleep(100);
      const bytes = (await fresh()).filter((r) => r.data.anomaly === "bytes");
      expect(bytes.some((r) => r.data.scope === "service" && r.data.port === 5201)).toBe(true);
      expect(bytes.every((r) => r.data.observed > 1 << 20)).toBe(true);
      console.log(`bulk transfer: bytes anomaly ${Date.parse(bytes[0]!.data.at) - started} ms after the transfer started (200 ms cycles)`);
    } finally {
      sink.kill();
      await sink.exited;
    }

    const before = (await fresh()).length;
    const flood = Date.now();
    lab.exec("client", ["python3", "-c", PY_SYN_FLOOD, lab.server.v4, "20001", "300"]);
    const deadline = Date.now() + 20_000;
    while (!(await fresh()).some((r) => r.data.anomaly === "failed_connections") && Date.now() < deadline) await Bun.sleep(100);
    const failed = (await fresh()).slice(before).filter((r) => r.data.anomaly === "failed_connections");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.some((r) => r.data.scope === "service" && r.data.port === 20001)).toBe(true);
    console.log(`SYN flood: failed_connections ${Date.parse(failed[0]!.data.at) - flood} ms after it started`);

    // None of it came from a record: under the 60 s timeouts no flow record exists yet.
    expect(await flows()).toBe(flowsBefore);
    const metrics = lab.exec("server", ["curl", "-sf", url]);
    expect(counted(metrics, "bytes")).toBeGreaterThan(0);
    expect(counted(metrics, "failed_connections")).toBeGreaterThan(0);
    expect(await agent.stop()).toBe(0);
    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect({ code: v.code, err: v.stderr }).toEqual({ code: 0, err: "" });
  }, 120_000);
});
