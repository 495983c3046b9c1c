/**
 * `ato run --detect`: a real agent on the lab, a real port scan (non-blocking connects to 600 closed ports from
 * the client). The detector, fed each cycle with the flows the cycle exported, fires `scan` for the client's
 * masked source; the anomaly is an evidence record that `ato verify` accepts, and ato_anomalies_total on the
 * agent's /metrics counts it. Steady light traffic before it (a ping a cycle) fires nothing.
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
});
