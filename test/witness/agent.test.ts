/**
 * [kernel][hsm] Witnesses end to end: two `ato witness serve` on the lab's loopback and
 * `ato run` on the lab submitting every checkpoint to both. Every checkpoint gets both
 * cosignatures and `ato verify --witness A --witness B` exits 0; a witness SIGKILLed mid-run
 * and restarted keeps its state and is caught up, never cosigning two inconsistent trees;
 * an exported cosignature verifies with OpenSSL alone; a forked log (tail cut after a
 * checkpoint, continued with the same token) is refused, the refusal is evidence in the log,
 * and `ato verify --witness` on the fork fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { EvidenceLog } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";
import { hex, sha256 } from "../../src/tree/index.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";
import { WitnessProcess } from "./_witness.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let pinDir: string;
let tmp: string;
let pem: string;
let origin: string;
const vkeys: string[] = [];
const witnesses: WitnessProcess[] = [];
let agent: Agent | undefined;

type Rec = { seq: number; kind: string; data: Record<string, any> };

beforeAll(async () => {
  setup = await agentSetup("witness");
  lab = createLab();
  pinDir = uniquePinDir("witness");
  tmp = mkdtempSync("/tmp/ato-witness-agent-");
  pem = join(tmp, "public.pem");
  expect(atoIn(null, ["hsm", "pubkey", "--out", pem], setup.env).code).toBe(0);
  // A first run of the log (as an earlier agent would have left it) gives the origin the witnesses are told.
  const t = setup.token;
  const log = EvidenceLog.open({ auditDir: setup.auditDir, signer: openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel }), checkpointIntervalMs: 0, onWarning: () => {} });
  origin = log.status().origin;
  log.close();
  for (const name of ["a", "b"]) vkeys.push(WitnessProcess.init(lab.server.ns, join(tmp, `w-${name}`), `witness.test/${name}`));
  for (const name of ["a", "b"]) witnesses.push(await WitnessProcess.start(lab.server.ns, join(tmp, `w-${name}`), [`${origin}=${pem}`]));
}, 60_000);

afterAll(async () => {
  agent?.kill();
  await agent?.proc.exited;
  for (const w of witnesses) await w.kill();
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

// A record every interval (--active-timeout 0): the checkpoints written while a witness is dead cover new evidence.
const runAgent = () => Agent.start(lab.server.ns, [
  "--iface", lab.server.dev, "--pin-dir", pinDir, "--checkpoint-seconds", "1", "--witness-max-silence", "3", "--active-timeout", "0", ...setup.args,
  ...witnesses.flatMap((w, i) => ["--witness", `${w.url}=${vkeys[i]}`]),
], setup.env);

function records(): Rec[] {
  const dir = setup.auditDir;
  return readdirSync(dir).filter((f) => f.endsWith(".log")).sort((a, b) => (a === "signed_evidence.log" ? 1 : b === "signed_evidence.log" ? -1 : a.localeCompare(b)))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)));
}

const cosignedBy = (name: string) => records().filter((r) => r.kind === "cosignature" && r.data.witness === name);

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${agent?.output ?? ""}`);
    await Bun.sleep(100);
  }
}

function witnessState(name: "a" | "b"): { size: number; root: string } {
  return JSON.parse(readFileSync(join(tmp, `w-${name}`, "logs", `${hex(sha256(new TextEncoder().encode(origin)))}.json`), "utf8"));
}

const verify = (extra: string[]) => atoIn(null, ["verify", setup.auditDir, "--pubkey", pem, ...extra]);

describe("[kernel][hsm] witnesses and the agent", () => {
  test("both witnesses cosign every checkpoint; one SIGKILLed and restarted keeps its state and is caught up; verify --witness exits 0", async () => {
    agent = runAgent();
    await agent.waitFor(/submitting checkpoints to 2 witness/);
    sendUdp(lab, lab.server.v4, 9, 20, 32, [50]);
    await until("three cosignatures from each witness", () => cosignedBy("witness.test/a").length >= 3 && cosignedBy("witness.test/b").length >= 3);

    // While both ran, each signed checkpoint got both cosignatures (the last one may still be on its way).
    const cps = records().filter((r) => r.kind === "checkpoint" && r.data.signature_status === "ok" && r.seq > records().find((x) => x.kind === "agent")!.seq);
    const both = cps.slice(0, -1).filter((c) => ["a", "b"].every((n) => cosignedBy(`witness.test/${n}`).some((x) => x.data.checkpoint_seq === c.seq)));
    expect(both.length).toBe(cps.length - 1);

    await witnesses[1]!.kill("SIGKILL");
    const killedAt = witnessState("b");
    sendUdp(lab, lab.server.v4, 9, 20, 32, [50]);
    await until("witness a to cosign past b's death", () => cosignedBy("witness.test/a").at(-1)!.data.tree_size > killedAt.size + 5);
    // The agent tells: /readyz names the silent witness, /metrics has each witness's size and failures.
    const base = /metrics on (http:\S+)\/metrics/.exec(agent.output)![1]!;
    await Bun.sleep(3500);
    const ready = JSON.parse(lab.exec("server", ["curl", "-s", `${base}/readyz`]));
    expect(ready.ready).toBe(false);
    expect(ready.failed).toEqual(["witnesses"]);
    expect(ready.details["witness witness.test/b"]).toMatch(/no cosignature for \d+ s \(limit 3 s\)/);
    expect(ready.details["witness witness.test/a"]).toBeUndefined();
    const metrics = lab.exec("server", ["curl", "-sf", `${base}/metrics`]);
    expect(metrics).toMatch(/^ato_witness_cosigned_tree_size\{witness="witness\.test\/a"\} [1-9]/m);
    expect(metrics).toMatch(/^ato_witness_failures_total\{witness="witness\.test\/b",reason="unreachable"\} [1-9]/m);
    witnesses[1] = await WitnessProcess.start(lab.server.ns, join(tmp, "w-b"), [`${origin}=${pem}`], witnesses[1]!.url.replace("http://", ""));
    expect(witnessState("b")).toEqual(killedAt); // the restart read the state it had, changed nothing
    await until("witness b to catch up", () => cosignedBy("witness.test/b").at(-1)!.data.tree_size > killedAt.size + 5);
    sendUdp(lab, lab.server.v4, 9, 5, 32, [20]);
    await Bun.sleep(1500);
    expect(await agent.stop()).toBe(0);
    agent = undefined;

    // Nothing inconsistent: each witness's cosignatures are for the log's own checkpoints, sizes only growing.
    const roots = new Map(records().filter((r) => r.kind === "checkpoint").map((r) => [r.data.tree_size as number, r.data.root as string]));
    for (const n of ["a", "b"]) {
      const sizes = cosignedBy(`witness.test/${n}`).map((c) => c.data.tree_size as number);
      expect([...sizes].sort((x, y) => x - y)).toEqual(sizes);
      for (const c of cosignedBy(`witness.test/${n}`)) expect(c.data.root).toBe(roots.get(c.data.tree_size)!);
      const st = witnessState(n as "a" | "b");
      expect(st.root).toBe(roots.get(st.size)!);
    }
    expect(records().some((r) => r.kind === "witness_refusal")).toBe(false);

    const ok = verify(["--witness", vkeys[0]!, "--witness", vkeys[1]!]);
    expect(ok.stdout).toContain("Witnesses: VERIFIED");
    expect(ok.code).toBe(0);
    // b missed the checkpoints written while it was dead: demanding every one fails, naming b.
    const every = verify(["--witness", vkeys[0]!, "--witness", vkeys[1]!, "--witness-every"]);
    expect(every.code).toBe(2);
    expect(every.stdout).toMatch(/missing: witness\.test\/b/);
    expect(verify(["--witness", vkeys[0]!, "--witness", vkeys[1]!, "--witness-every", "--witness-quorum", "1"]).code).toBe(0);
  }, 120_000);

  test("an exported cosignature verifies with OpenSSL alone", () => {
    const flow = records().find((r) => r.kind === "flow")!;
    const out = join(tmp, "export");
    const r = verify(["--witness", vkeys[0]!, "--witness", vkeys[1]!, "--export-proof", String(flow.seq), "--out", out]);
    const commands = r.stdout.split("\n").filter((l) => l.trim().startsWith("openssl pkeyutl -verify") && l.includes("cosignature-"));
    expect(commands).toHaveLength(2);
    for (const c of commands) {
      const o = Bun.spawnSync(["sh", "-c", c.trim().replace(/#.*$/, "")], { stdout: "pipe", stderr: "pipe" });
      expect(`${o.stdout}${o.stderr}`).toContain("Signature Verified Successfully");
    }
  });

  test("a forked log (cut after a checkpoint, continued with the same token) is refused; the refusal is evidence; verify --witness fails", async () => {
    const before = { a: witnessState("a"), b: witnessState("b") };
    const active = join(setup.auditDir, "signed_evidence.log");
    Bun.spawnSync(["chattr", "-a", active]);
    const text = readFileSync(active, "utf8");
    const lines = text.split("\n").filter(Boolean);
    const cut = lines.findIndex((l) => JSON.parse(l).kind === "checkpoint" && JSON.parse(l).data.tree_size > 20);
    truncateSync(active, Buffer.byteLength(lines.slice(0, cut + 1).join("\n") + "\n"));
    rmSync(join(setup.auditDir, "witnesses.json"), { force: true }); // the forger hides what the agent knew
    agent = runAgent();
    await agent.waitFor(/submitting checkpoints/);
    sendUdp(lab, lab.server.v4, 9, 10, 32, [50]);
    // First the agent learns (409) that the witnesses hold a larger tree than the fork; once the
    // fork has grown past it, the witnesses refuse its consistency proof (422).
    const refusedBy = (n: string) => records().some((r) => r.kind === "witness_refusal" && r.data.witness === n && r.data.status === 422);
    await until("both witnesses to refuse the fork's proof (422)", () => {
      sendUdp(lab, lab.server.v4, 9, 2, 32, [0]);
      return refusedBy("witness.test/a") && refusedBy("witness.test/b");
    }, 60_000);
    expect(await agent.stop()).toBe(0);
    agent = undefined;
    const refusals = records().filter((r) => r.kind === "witness_refusal");
    expect(refusals.map((r) => r.data.reason)).toContain("witness_ahead");
    expect(refusals.find((r) => r.data.status === 422)!.data.message).toMatch(/consistency proof/);
    expect(lab.exec("server", ["curl", "-sf", `${witnesses[0]!.url}/metrics`])).toMatch(/^ato_witness_refusals_total\{reason="bad_proof"\} [1-9]/m);
    // The witness kept the log-signed requests it refused: evidence of the fork on its side too.
    const kept = readdirSync(join(tmp, "w-a", "refused"));
    expect(kept.some((f) => f.endsWith("-422.txt"))).toBe(true);
    expect(readFileSync(join(tmp, "w-a", "refused", kept.find((f) => f.endsWith("-422.txt"))!), "utf8")).toContain(`\n\n${origin}\n`);
    expect(records().filter((r) => r.kind === "cosignature" && r.seq > cut)).toHaveLength(0);
    expect({ a: witnessState("a"), b: witnessState("b") }).toEqual(before); // neither witness moved to the fork
    const r = verify(["--witness", vkeys[0]!, "--witness", vkeys[1]!]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/has 0 of the 2 cosignatures required; missing: witness\.test\/a, witness\.test\/b/);
    expect(r.stdout).toMatch(/refused the checkpoint/);
  }, 120_000);
});
