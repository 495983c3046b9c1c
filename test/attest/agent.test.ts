/**
 * `ato run` on a lab veth from start to stop is one operation: at stop its bundle is written, signed, and its
 * attest record is in the agent's own log before the final checkpoint, so `ato attest verify` passes at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;

beforeAll(async () => {
  setup = await agentSetup("attest");
  lab = createLab();
  pinDir = uniquePinDir("attest");
  tmp = mkdtempSync("/tmp/ato-attest-agent-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
});
afterAll(async () => {
  agent?.kill();
  await agent?.proc.exited;
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

describe("ato run as an attested operation", () => {
  test("start to stop: a signed bundle of what was attached, its digest in the log, verify passes", async () => {
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], setup.env);
    await agent.waitFor(/attached on/);
    lab.exec("client", ["ping", "-c", "2", "-i", "0.2", lab.server.v4]);
    expect(await agent.stop()).toBe(0);
    const m = /attestation bundle (\S+attest-(\S+)\.jsonl) \(signature ok\), attest record seq (\d+)/.exec(agent.output);
    expect(m).not.toBeNull();
    const [, path, opId] = m!;
    const lines = readFileSync(path!, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: "operation", kind: "agent", name: "ato run", op_id: opId });
    expect(lines[0].config.pkcs11.pin).toBe("(set)");
    expect(readFileSync(path!, "utf8")).not.toContain(setup.token.pin);
    const started = lines.find((l) => l.event === "started");
    expect(started.attachments).toEqual([expect.objectContaining({ iface: lab.server.dev })]);
    expect(lines.at(-1)).toMatchObject({ type: "end", signature_status: "ok" });

    const v = atoIn(null, ["attest", "verify", "--op", opId!, "--pubkey", `${tmp}/public.pem`, "--audit-dir", setup.auditDir, "--json"], setup.env);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).log.seq).toBe(Number(m![3]));
    expect(readdirSync(join(setup.auditDir, "attest")).filter((f) => f.startsWith(`attest-${opId}`)).sort()).toEqual([`attest-${opId}-sbom.json`, `attest-${opId}.jsonl`, `attest-${opId}.jsonl.sig`]);
  });

  test("an ato attest run while the agent holds the log waits as pending, and the agent appends it (at its stop at the latest)", async () => {
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], setup.env);
    await agent.waitFor(/attached on/);
    const r = atoIn(null, ["attest", "run", "--name", "during the run", "--audit-dir", setup.auditDir, "--", "true"], setup.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("pending");
    const opId = r.stdout.trim();
    const pubkey = ["--pubkey", `${tmp}/public.pem`, "--audit-dir", setup.auditDir];
    expect(atoIn(null, ["attest", "verify", "--op", opId, ...pubkey], setup.env).code).toBe(2); // not in the log yet
    expect(await agent.stop()).toBe(0);
    expect(readdirSync(join(setup.auditDir, "attest", "pending"))).toEqual([]);
    expect(atoIn(null, ["attest", "verify", "--op", opId, ...pubkey], setup.env).code).toBe(0);
  });
});
