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
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { deleteFlowTo, uniquePinDir } from "../support/bpf.ts";
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
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "ato-test-finalfull", setup.auditDir], { stderr: "pipe" });
  if (m.exitCode !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
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

async function until(ok: () => Promise<boolean>, ms = 10000): Promise<void> {
  for (const end = Date.now() + ms; !(await ok());) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(50);
  }
}

/** Bytes left in the file's last page: all it can still take on a full tmpfs. */
function slack(path: string): number {
  const st = statSync(path);
  return st.blocks * 512 - st.size;
}

/** Fills the tmpfs with one file until the kernel refuses a byte more (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, "w");
  const block = new Uint8Array(64 * 1024);
  try {
    for (let size = block.length; size >= 1;) {
      try {
        writeSync(fd, block, 0, size);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        size >>= 1; // the last blocks' worth: down to the last byte that fits
      }
    }
  } finally {
    closeSync(fd);
  }
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
    await until(async () => (await setup.records()).some((r) => r.kind === "checkpoint" && r.data.trigger !== "shutdown"));
    fill(`${setup.auditDir}/filler`);
    // The ping's records (~370 bytes each) take what is left of the log's last page, until less is left than any
    // record the stop writes (a tamper record ~390 bytes, a checkpoint ~780); from then on every cycle's write is
    // refused, and with it the cycle's conservation check (a failed cycle never reaches the interval's checks).
    const log = `${setup.auditDir}/signed_evidence.log`;
    await until(async () => /collection failed: .*disk full/.test(agent!.output) && slack(log) < 380);
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
    expect(v.stdout).toMatch(/\d+ lines? not signed yet/); // the records after the last checkpoint that could be written
  }, 60_000);
});
