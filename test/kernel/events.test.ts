/**
 * The spike guard and the timing audit on live traffic (needs root): shaped traffic triggers
 * one ring-buffer event, steady traffic none.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";

let lab: Lab;
let agent: Agent | undefined;
const pins: string[] = [];

let setup: Awaited<ReturnType<typeof agentSetup>>;
beforeAll(async () => {
  setup = await agentSetup("events");
  lab = createLab();
});
afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  for (const p of pins) rmSync(p, { recursive: true, force: true });
});

async function startAgent(args: string[]) {
  const pinDir = uniquePinDir("events");
  pins.push(pinDir);
  // Ports are kept in the evidence here, so each record names the flow it is about.
  agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", ...setup.args, ...args], setup.env);
  await agent.waitFor(/attached on/);
  return agent;
}

/** The evidence records of one kind about UDP traffic to one port. */
const events = async (kind: string, port: number) =>
  (await setup.records()).filter((r) => r.kind === kind && r.data?.proto === 17 && r.data?.dport === port);

describe("[kernel] spike guard", () => {
  test("a burst over the threshold gives one spike event for its window; steady traffic gives none", async () => {
    const a = await startAgent(["--spike-threshold", "100", "--spike-window-ms", "1000"]);
    sendUdp(lab, lab.server.v4, 7001, 30, 16, [50]); // 30 packets over 1.5 s: at most ~20 per window
    sendUdp(lab, lab.server.v4, 7002, 400, 16, [0]); // 400 packets at once
    await Bun.sleep(400);
    expect(await a.stop()).toBe(0);
    expect(await events("spike", 7001)).toHaveLength(0);
    expect(await events("spike", 7002)).toHaveLength(1);
  });
});

/** A 90 ms gap in the 20/60 ms pattern is |t| ~2.5: well below 4. */
const JITTER_MS = 30;
const ATTEMPTS = 3;

describe("[kernel] timing audit", () => {
  test("a gap far outside a flow's inter-arrival distribution is flagged with |t| >= 4; a regular pattern is not", async () => {
    const a = await startAgent(["--timing", "--timing-min-samples", "20"]);
    // Alternating 20 ms / 60 ms gaps: a wide, regular distribution that scheduler jitter of a
    // few milliseconds cannot push to |t| >= 4. A loaded machine can stretch one sleep by far
    // more (then the audit is right to flag it): a run counts only when every gap it really
    // took stayed within JITTER_MS of the plan, and is tried again on a new port otherwise.
    const regular: number[] = [];
    for (let port = 7003; port < 7003 + 10 * ATTEMPTS && regular.length === 0; port += 10) {
      const taken = sendUdp(lab, lab.server.v4, port, 40, 16, [20, 60]);
      if (taken.every((g, i) => Math.abs(g - (i % 2 ? 60 : 20)) < JITTER_MS)) regular.push(port);
    }
    expect(regular).toHaveLength(1); // else the scheduler stretched a sleep by JITTER_MS in every attempt
    // The same source port twice, so the late datagram belongs to the same flow; and one CPU,
    // because the timing statistics are per CPU (a veth runs XDP on the sender's CPU).
    sendUdp(lab, lab.server.v4, 7004, 30, 16, [20, 60], 47004, 0);
    await Bun.sleep(1500);
    sendUdp(lab, lab.server.v4, 7004, 1, 16, [0], 47004, 0);
    await Bun.sleep(400);
    expect(await a.stop()).toBe(0);
    expect(await events("timing", regular[0]!)).toHaveLength(0);
    const flagged = await events("timing", 7004);
    expect(flagged.length).toBeGreaterThanOrEqual(1);
    expect(flagged[0]!.data.tscore).toBeGreaterThanOrEqual(4);
    expect(a.output).toMatch(/event timing .*tscore=/);
  });
});
