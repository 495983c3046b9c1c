/**
 * `ato run --forward NAME` (needs root): the agent runs `ato forward` beside itself, every line of its
 * log reaches the sink (an NDJSON export here, so no server is needed), and `ato verify` on that
 * export gives the same answer as on the host's own log. A sink name the config does not have stops
 * the forwarder once, clearly, while the agent goes on collecting and signing.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;

beforeAll(async () => {
  setup = await agentSetup("forward");
  lab = createLab();
  pinDir = uniquePinDir("forward");
  tmp = mkdtempSync("/tmp/ato-forward-run-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
  writeFileSync(`${tmp}/forward.json`, JSON.stringify({
    state_dir: `${tmp}/state`,
    batch: { records: 50, linger_ms: 50 },
    sinks: [{ name: "export", type: "file", path: `${tmp}/export.ndjson` }, { name: "other", type: "file", path: `${tmp}/other.ndjson` }],
  }));
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

const run = (extra: string[]) => Agent.start(lab.server.ns, [
  "--iface", lab.server.dev, "--pin-dir", pinDir, "--checkpoint-seconds", "1", "--active-timeout", "1", ...setup.args, ...extra,
], setup.env);

const verify = (path: string) => {
  const r = atoIn(null, ["verify", path, "--pubkey", `${tmp}/public.pem`, "--json"]);
  return { code: r.code, report: JSON.parse(r.stdout) };
};

test("every line of the agent's log reaches the sink, and the export verifies as the log does", async () => {
  agent = run(["--forward", "export", "--forward-config", `${tmp}/forward.json`]);
  await agent.waitFor(/forwarding to export/);
  // The agent runs with Bun's GC timer off (its own re-execution, src/cli/gc-timer.ts); the forwarder it starts
  // gets the environment the operator gave.
  const env = (pid: number | string) => readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
  expect(env(agent.proc.pid)).toContain("BUN_GC_TIMER_DISABLE=1");
  const children = readFileSync(`/proc/${agent.proc.pid}/task/${agent.proc.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  const forwarders = children.filter((c) => readFileSync(`/proc/${c}/cmdline`, "latin1").split("\0").includes("forward"));
  expect(forwarders.length).toBe(1);
  expect(env(forwarders[0]!).filter((v) => v.startsWith("BUN_GC_TIMER_DISABLE=") || v.startsWith("ATO_GC_TIMER_REEXEC="))).toEqual([]);
  lab.exec("client", ["ping", "-c", "5", "-i", "0.2", "-q", lab.server.v4]);
  expect(await agent.stop()).toBe(0);
  expect(agent.output).toMatch(/final checkpoint at tree size \d+ signature_status=ok/);

  const host = verify(setup.auditDir);
  expect(host.code).toBe(0);
  const copy = verify(`${tmp}/export.ndjson`);
  expect(copy.code).toBe(0);
  // The same tree: at stop the forwarder drained the log, the final checkpoint included.
  expect(copy.report.tree_size).toBe(host.report.tree_size);
  expect(copy.report.root).toBe(host.report.root);
  expect(existsSync(`${tmp}/other.ndjson`)).toBe(false); // only the sink that was named
});

test("a sink the config does not have: the forwarder stops once with the reason, the agent keeps signing", async () => {
  agent = run(["--forward", "nosuch", "--forward-config", `${tmp}/forward.json`]);
  await agent.waitFor(/forwarder stopped \(exit 78\).*no such sink.*not restarted/);
  lab.exec("client", ["ping", "-c", "3", "-i", "0.2", "-q", lab.server.v4]);
  expect(await agent.stop()).toBe(0);
  expect(agent.output.match(/forwarder stopped/g)?.length).toBe(1);
  expect(verify(setup.auditDir).code).toBe(0);
});

test("--forward without a forward config is a configuration error before anything starts", () => {
  const r = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args, "--forward", "export"], setup.env);
  expect(r.code).toBe(78);
  expect(r.stderr).toContain("--forward-config");
});
