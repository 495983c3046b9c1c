/**
 * The fleet on the lab (needs root): two `ato run` agents, one on each lab host, each with its
 * own SoftHSM token and key and so its own origin, each forwarding its log (`--forward`) to one
 * JetStream stream replicated on a three-node nats-server cluster (R3, inside the lab) and to an
 * NDJSON export. Traffic goes through both hosts' XDP programs; then `ato collect` rebuilds one
 * audit directory per origin, and `ato verify` gives each rebuilt directory the tree size and
 * root of that host's own log and of its export. A line of one origin removed from the stream
 * is a gap reported for that origin only.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn, ATO } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { dirNameOf } from "../../src/collect/index.ts";
import { createLabStream, deleteFromLabStream, startLabNats, type LabNats } from "./_lab-nats.ts";

type Setup = Awaited<ReturnType<typeof agentSetup>>;
interface Host { side: "server" | "client"; setup: Setup; pinDir: string; pubkey: string; config: string; exportPath: string; agent?: Agent }

let lab: Lab;
let tmp: string;
let nats: LabNats | undefined;
const hosts: Host[] = [];
const stream = `FLEET_${Math.random().toString(36).slice(2, 8).toUpperCase()}`;

beforeAll(async () => {
  lab = createLab();
  tmp = mkdtempSync("/tmp/ato-fleet-");
  nats = await startLabNats(lab.server.ns, lab.server.v4, join(tmp, "nats"), 3);
  createLabStream(lab.server.ns, nats.urls, stream, 3);
  for (const side of ["server", "client"] as const) {
    const setup = await agentSetup(`fleet-${side}`);
    const dir = join(tmp, side);
    const pubkey = `${dir}.pem`;
    expect(atoIn(null, ["hsm", "pubkey", "--out", pubkey], setup.env).code).toBe(0);
    const exportPath = `${dir}.export.ndjson`;
    const config = `${dir}.forward.json`;
    writeFileSync(config, JSON.stringify({
      state_dir: `${dir}.state`,
      batch: { records: 100, linger_ms: 50 },
      sinks: [
        { name: "fleet", type: "jetstream", servers: nats.urls, stream, ack_timeout_ms: 5000 },
        { name: "export", type: "file", path: exportPath },
      ],
    }));
    hosts.push({ side, setup, pinDir: uniquePinDir(`fleet-${side}`), pubkey, config, exportPath });
  }
}, 60_000);

afterAll(async () => {
  for (const h of hosts) {
    h.agent?.kill();
    await h.agent?.proc.exited;
    await h.setup.cleanup();
    rmSync(h.pinDir, { recursive: true, force: true });
  }
  await nats?.stop();
  lab?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const verify = (path: string, pubkey: string) => {
  const r = atoIn(null, ["verify", path, "--pubkey", pubkey, "--json"]);
  return { code: r.code, report: JSON.parse(r.stdout) };
};

test("two agents on two lab hosts forward to one R3 stream; the collector rebuilds each origin as its host's log", async () => {
  for (const h of hosts) {
    h.agent = Agent.start(lab[h.side].ns, [
      "--iface", lab[h.side].dev, "--pin-dir", h.pinDir, "--checkpoint-seconds", "1", "--active-timeout", "1", ...h.setup.args,
      "--forward", "fleet", "--forward", "export", "--forward-config", h.config,
    ], h.setup.env);
  }
  for (const h of hosts) await h.agent!.waitFor(/forwarding to fleet, export/);
  // Traffic through both XDP programs: pings both ways and a TCP exchange.
  lab.exec("client", ["ping", "-c", "5", "-i", "0.2", "-q", lab.server.v4]);
  lab.exec("server", ["ping", "-c", "5", "-i", "0.2", "-q", lab.client.v4]);
  await Bun.sleep(1500); // an active timeout and a checkpoint pass: flow records while running
  for (const h of hosts) expect(await h.agent!.stop()).toBe(0);
  for (const h of hosts) expect(h.agent!.output).toMatch(/final checkpoint at tree size \d+ signature_status=ok/);

  const out = join(tmp, "fleet");
  const c = collect(out, "fleet");
  expect(c.stderr).toBe("");
  expect(c.code).toBe(0);
  const status = c.status;
  expect(status.length).toBe(2);

  const origins = new Set<string>();
  for (const h of hosts) {
    const own = verify(h.setup.auditDir, h.pubkey);
    expect(own.code).toBe(0);
    const origin = own.report.origin as string;
    origins.add(origin);
    const s = status.find((x) => x.origin === origin);
    expect(s).toMatchObject({ result: "verified", missing: 0, behind: 0, findings: [], tree_size: own.report.total.tree_size });
    const rebuilt = verify(join(out, dirNameOf(origin)), h.pubkey);
    const exported = verify(h.exportPath, h.pubkey);
    for (const copy of [rebuilt, exported]) {
      expect(copy.code).toBe(0);
      expect(copy.report.origin).toBe(origin);
      expect(copy.report.total.tree_size).toBe(own.report.total.tree_size);
      expect(copy.report.total.root).toBe(own.report.total.root);
    }
    // Flow records of the traffic itself, not only the agent's own lines.
    expect((await h.setup.records()).some((r) => r.kind === "flow")).toBe(true);
  }
  expect(origins.size).toBe(2); // two tokens, two logs: two origins
  const [a, b] = hosts.map((h) => verify(h.setup.auditDir, h.pubkey).report.origin as string) as [string, string];
  // Each origin checks only against its own key: the other host's key does not verify it.
  expect(verify(join(out, dirNameOf(a)), hosts[1]!.pubkey).code).toBe(3);

  // A line of b's missing from the stream: a second collector (its own durable and directory)
  // reports the gap for b only, and a still verifies.
  deleteFromLabStream(lab.server.ns, nats!.urls, stream, b, 5);
  const g = collect(join(tmp, "fleet-gap"), "gap");
  expect(g.code).not.toBe(0);
  expect(g.status.find((x) => x.origin === a)).toMatchObject({ result: "verified", missing: 0, findings: [] });
  expect(g.status.find((x) => x.origin === b)).toMatchObject({ missing: 1, gaps: [[5, 5]] });
  expect(g.status.find((x) => x.origin === b).result).not.toBe("verified");
}, 120_000);

function collect(out: string, durable: string) {
  const c = Bun.spawnSync(["nsenter", `--net=/run/netns/${lab.server.ns}`, ...ATO, "collect", "--nats", nats!.urls[0]!, "--stream", stream, "--out", out, "--durable", durable,
    ...hosts.flatMap((h) => ["--pubkey", h.pubkey]), "--ack-wait", "2", "--once"], { stdout: "pipe", stderr: "pipe" });
  return { code: c.exitCode, stderr: c.stderr.toString(), status: c.stdout.toString().trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
}
