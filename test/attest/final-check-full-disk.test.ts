/**
 * The stop's conservation check runs even when the stop's final collection failed: the disk filled up while the
 * agent ran, so every cycle's write (and with it that cycle's check) was refused, and at the stop the collection's
 * shutdown records, the finding's tamper record and the shutdown checkpoint are too. The finding is still told
 * (its log line names it and what summed the map), the record that waits is said, the stop exits non-zero, and
 * the log written before the disk filled is whole and verifies with `ato verify`. On the real `ato run` on the lab,
 * its audit directory on a 4 MiB tmpfs, signed by SoftHSM.
 * [kernel, hsm] Needs root: mount.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { deleteFlowTo, uniquePinDir } from "../support/bpf.ts";
import { fillDisk, mountTmpfs, pageRoom } from "../support/disk.ts";
import { sendUdp } from "../support/traffic.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;
let mounted = false;
let ping: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  setup = await agentSetup("finalfull");
  lab = createLab();
  pinDir = uniquePinDir("finalfull");
  tmp = mkdtempSync("/tmp/ato-attest-finalfull-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
  mountTmpfs(setup.auditDir, "size=4m", "ato-test-finalfull");
  mounted = true;
});
afterAll(async () => {
  ping?.kill();
  await ping?.exited;
  agent?.kill();
  await agent?.proc.exited;
  rmSync(pinDir, { recursive: true, force: true });
  if (mounted) {
    Bun.spawnSync(["chattr", "-R", "-a", setup.auditDir], { stderr: "ignore" });
    Bun.spawnSync(["umount", "-l", setup.auditDir]);
  }
  await setup?.cleanup();
  lab?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

/** Polls `ok` every 50 ms; `what` names it when the time runs out. */
async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10000): Promise<void> {
  for (const end = Date.now() + ms; !(await ok());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${agent?.output ?? ""}`);
    await Bun.sleep(50);
  }
}

/** Bytes of the last ICMP flow record in the log, its newline with it: the ping's records only grow (counts, seq). */
function lastPingRecordBytes(log: string): number {
  // whole lines only: the agent may be writing the last one
  const line = readFileSync(log, "utf8").split("\n").slice(0, -1).findLast((l) => {
    const r = JSON.parse(l);
    return r.kind === "flow" && r.data.proto === 1;
  });
  return line === undefined ? 0 : Buffer.byteLength(line) + 1;
}

/**
 * The room the log's last page had at the agent's last refused write: its "only N of M bytes" (0 when none went
 * in). Stable until a smaller write fits, unlike the file's size, which a refused write raises until it is rolled back.
 */
function roomAtLastRefusal(output: string): number | undefined {
  const m = [...output.matchAll(/collection failed: cannot append to the evidence log .*?: (?:only (\d+) of \d+ bytes were written|no space left)/g)].at(-1);
  return m ? Number(m[1] ?? 0) : undefined;
}

/** Refused collection writes so far. */
function refusals(output: string): number {
  return output.match(/collection failed: /g)?.length ?? 0;
}

/**
 * Fills the disk when the log's last page has less room than a ping record (~370 bytes), so that the ping's
 * next record is refused and the page keeps that little room. A write can still take a new page while the filler
 * is being written, or a refused write carry two flows' growth, each cycle again: the refusal says how much room
 * there was, and when it was a ping record or more, the filler goes and the next nearly full page is tried.
 */
async function fillWhenPageNearlyFull(log: string, filler: string): Promise<void> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    await until("the log's last page with less room than a ping record", () => pageRoom(log) < lastPingRecordBytes(log));
    const before = refusals(agent!.output);
    fillDisk(filler);
    await until("a refused write", () => refusals(agent!.output) > before);
    if (roomAtLastRefusal(agent!.output)! < lastPingRecordBytes(log)) return;
    rmSync(filler);
  }
  throw new Error(`the log's last page never had less room than a ping record when a write was refused:\n${agent!.output}`);
}

describe("[kernel][hsm] the stop's conservation check on a full disk", () => {
  test("a flow deleted while every cycle fails on a full disk is found at the stop, after the final collection failed too", async () => {
    const args = setup.args.map((a, i, all) => (all[i - 1] === "--interval-ms" ? "100" : a));
    // --active-timeout 0: a record every interval for every flow that grew, so the ping's flow writes every cycle
    // until the disk is full; a checkpoint a second, so what was written before the disk filled is signed.
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--idle-timeout", "600", "--active-timeout", "0",
      "--checkpoint-seconds", "1", ...args], setup.env);
    await agent.waitFor(/metrics on (http:\S+)/);
    await agent.waitFor(/self-attestation: program id/);
    ping = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "ping", "-q", "-i", "0.02", lab.server.v4], { stdout: "ignore", stderr: "ignore" });
    await until("a checkpoint", async () => (await setup.records()).some((r) => r.kind === "checkpoint" && r.data.trigger !== "shutdown"));
    // From here every cycle's write is refused, and with it the cycle's conservation check (a failed cycle never
    // reaches the interval's checks). Nothing the stop writes fits either: its ping record is at least as long as
    // the last one, the tamper record (~390 bytes) and the checkpoint (~780) are longer.
    const log = `${setup.auditDir}/signed_evidence.log`;
    await fillWhenPageNearlyFull(log, `${setup.auditDir}/filler`);
    ping.kill();
    await ping.exited;
    ping = undefined;
    const before = await setup.records();
    sendUdp(lab, lab.server.v4, 6611, 10, 16, [0], 46611); // counted by the kernel, then deleted from the map
    expect(deleteFlowTo(pinDir, 6611)).toBe(10n);
    await Bun.sleep(500); // five cycles, each refused: none reaches a check
    expect(agent.output).not.toContain("tamper:");

    const code = await agent.stop();
    const lines = agent.output.split("\n");
    const stopAt = lines.findIndex((l) => l.includes("received SIGTERM"));
    const after = lines.slice(stopAt);
    const failed = after.findIndex((l) => /collection failed: cannot append to the evidence log .*signed_evidence\.log.*disk full/.test(l));
    const told = after.findIndex((l) => l.includes("tamper: counts_missing flow_map"));
    expect(failed).toBeGreaterThan(0); // the final collection failed
    expect(told).toBeGreaterThan(failed); // and the final check ran after it, on that collection's read of the map
    expect(after[told]).toContain('"missing_at_least":"10"');
    expect(after[told]).toContain('"map_read_by":"collector"');
    expect(after[told + 1]).toMatch(/^ato: 1 tamper record\(s\) not written yet, kept for the next write: cannot append to the evidence log .*signed_evidence\.log/);
    expect(after.at(-2) ?? "").toMatch(/stopping after SIGTERM: cannot append to the evidence log .*signed_evidence\.log/); // the shutdown checkpoint
    expect(code).toBe(74); // IO: the shutdown checkpoint did not fit
    expect(agent.output).not.toContain(setup.token.pin);

    // Nothing written before the disk filled is lost, nothing partial was added, and the log verifies.
    rmSync(`${setup.auditDir}/filler`);
    expect(await setup.records()).toEqual(before);
    const v = atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`Total: 1 file, ${before.length} lines checked`); // every line written before the disk filled
  }, 60_000);
});
