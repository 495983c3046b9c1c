/**
 * `ato run --retention` on the lab (needs root): an audit directory whose rotated segments are long
 * past their class's rule is continued by the agent, whose first retention pass retires them (each
 * after its signed retire record) while it collects; `ato verify` on what remains exits 0 and names them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { EvidenceLog, listLogFiles } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let pinDir: string;

beforeAll(async () => {
  setup = await agentSetup("retain");
  lab = createLab();
  pinDir = uniquePinDir("retain");
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
});

test("the agent's first retention pass retires the old segments while it collects; verify names them", async () => {
  const t = setup.token;
  const log = EvidenceLog.open({
    auditDir: setup.auditDir, signer: openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel }),
    rotateLines: 20, checkpointEvery: 5, checkpointIntervalMs: 0, onWarning: () => {}, now: () => new Date("2026-01-01T00:00:00.000Z"),
  });
  for (let i = 0; i < 50; i++) log.appendRecord("flow", { packets: 1, bytes: 60, flow_id: i });
  log.close();
  expect(listLogFiles(setup.auditDir).rotated.map((r) => r.segment)).toEqual([1, 2]);

  const agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--checkpoint-seconds", "1", "--retention", "internal=1d", ...setup.args], setup.env);
  try {
    await agent.waitFor(/retention: retired signed_evidence\.000002\.log/, 30_000);
    lab.exec("client", ["ping", "-c", "3", "-i", "0.2", "-q", lab.server.v4]);
    expect(await agent.stop()).toBe(0);
  } finally {
    agent.kill();
  }
  expect(agent.output).toMatch(/retention: internal=1d/);
  expect(listLogFiles(setup.auditDir).rotated).toEqual([]);
  const pem = `${setup.auditDir}.pem`;
  expect(atoIn(null, ["hsm", "pubkey", "--out", pem], setup.env).code).toBe(0);
  const r = atoIn(null, ["verify", setup.auditDir, "--pubkey", pem, "--json"]);
  rmSync(pem, { force: true });
  const v = JSON.parse(r.stdout);
  expect(r.code).toBe(0);
  expect(v.retired.map((x: any) => [x.segment, x.status])).toEqual([[1, "retired"], [2, "retired"]]);
  expect(v.total.tree_size).toBeGreaterThan(50); // the old lines, the retire records and what the agent collected, as one tree
}, 90_000);
