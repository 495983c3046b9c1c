/**
 * When the running agent's conservation check reads the flow map itself (src/attest/agent-operation.ts): a cycle
 * that read the map is checked in its own interval for nothing; otherwise the check's own read waits for its
 * cadence, one checkpoint period in intervals by default (here 1 s of 100 ms intervals: every 10th), or every
 * interval with --conservation-every 1; and it runs once more at the stop, after the final collection, so what
 * was taken from the map since the last check is in the log before the shutdown checkpoint signs it.
 * Counted by the agent's own ato_conservation_checks_total{map_read_by}, on the real `ato run` on the lab while
 * the client pings through it and nobody scrapes (a scrape would make every cycle read the map). [kernel, hsm]
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { deleteFlowTo, uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let ping: ReturnType<typeof Bun.spawn> | undefined;
let pinDir: string;
let tmp: string;

beforeAll(async () => {
  setup = await agentSetup("cadence");
  lab = createLab();
  pinDir = uniquePinDir("cadence");
  tmp = mkdtempSync("/tmp/ato-attest-cadence-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
});
afterEach(async () => {
  ping?.kill();
  await ping?.exited;
  ping = undefined;
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
  rmSync(pinDir, { recursive: true, force: true }); // each test starts on a new map: its first cycle is the one read
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

/** The agent every 100 ms, a checkpoint every `checkpointSeconds`, 600 s timeouts (no flow is due while a test runs). */
async function start(checkpointSeconds: number, extra: string[] = []): Promise<void> {
  const args = setup.args.map((a, i, all) => (all[i - 1] === "--interval-ms" ? "100" : a));
  agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--idle-timeout", "600", "--active-timeout", "600",
    "--checkpoint-seconds", String(checkpointSeconds), ...extra, ...args], setup.env);
  await agent.waitFor(/metrics on (http:\S+)/);
  await agent.waitFor(/self-attestation: program id/); // the check took its base
}

/** Frames through every interval: the kernel's packet counter always moves. */
function pingThrough(): void {
  ping = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "ping", "-q", "-i", "0.02", lab.server.v4], { stdout: "ignore", stderr: "ignore" });
}

/** One scrape (the first, at the end of a test): the checks so far by map_read_by, and the collector's reads. */
function scrape(): { own: number; collector: number; reads: number } {
  const url = agent!.output.match(/metrics on (http:\S+)/)![1]!;
  const text = lab.exec("server", ["curl", "-sf", url]);
  const n = (re: RegExp) => Number(text.match(re)?.[1] ?? 0);
  return {
    own: n(/^ato_conservation_checks_total\{map_read_by="kernel"\} (\d+)/m) + n(/^ato_conservation_checks_total\{map_read_by="batch"\} (\d+)/m),
    collector: n(/^ato_conservation_checks_total\{map_read_by="collector"\} (\d+)/m),
    reads: n(/^ato_collector_map_reads_total (\d+)/m),
  };
}

describe("[kernel][hsm] when the conservation check reads the flow map itself", () => {
  test("by default, once a checkpoint period: every 10th of 100-ms intervals, not every one", async () => {
    await start(1);
    pingThrough();
    const t0 = performance.now();
    await Bun.sleep(3000);
    const elapsed = performance.now() - t0;
    const c = scrape();
    // The first cycle read the new map (its check used that read); nothing read it since: no scrape, no timeout due.
    expect(c.reads).toBe(1);
    expect(c.collector).toBe(1);
    // Due every 9.5 intervals (half an interval early for the timer's jitter): ~3 in 3 s; a read every interval would be ~30.
    expect(c.own).toBeGreaterThanOrEqual(1);
    expect(c.own).toBeLessThanOrEqual(Math.floor(elapsed / 950) + 1);
  });

  test("with --conservation-every 1, every interval's check reads the map itself", async () => {
    await start(1, ["--conservation-every", "1"]);
    pingThrough();
    await Bun.sleep(3000);
    const c = scrape();
    expect(c.reads).toBe(1);
    // One check per tick: ~30 in 3 s. Under load the timer's ticks come later; each of them is still a check.
    expect(c.own).toBeGreaterThanOrEqual(15);
    expect(c.own).toBeGreaterThan(Math.floor(3000 / 950) + 1); // more than the default cadence could make
  });

  test("a flow deleted after the last check is found at the stop, after the final collection, before the shutdown checkpoint signs", async () => {
    await start(60); // 600 intervals between own reads: none during this test
    await Bun.sleep(300); // the first cycle has read the empty map
    sendUdp(lab, lab.server.v4, 6601, 10, 16, [0], 46601); // counted by the kernel, never read by the collector
    sendUdp(lab, lab.server.v4, 6602, 3, 16, [0], 46602); // kept: its shutdown record comes from the final collection
    expect(deleteFlowTo(pinDir, 6601)).toBe(10n);
    await Bun.sleep(1000); // ten intervals: no check reads the map meanwhile
    expect((await setup.records()).filter((r) => r.kind === "tamper")).toEqual([]);
    expect(await agent!.stop()).toBe(0);

    const records = await setup.records(); // the earlier tests' runs are in the same log, without a tamper record
    const at = (pred: (r: Record<string, any>) => boolean) => records.findLastIndex(pred);
    const tamper = at((r) => r.kind === "tamper");
    expect(tamper).toBeGreaterThan(-1);
    expect(records[tamper]!.data).toMatchObject({ tamper: "counts_missing", subject: "flow_map", found: { missing_at_least: "10", map_read_by: "collector" } });
    expect(records.filter((r) => r.kind === "tamper")).toHaveLength(1);
    const kept = at((r) => r.kind === "flow" && r.data.dport === 6602);
    expect(records[kept]!.data).toMatchObject({ reason: "shutdown", packets: 3 });
    expect(tamper).toBeGreaterThan(kept); // the final check, after the final collection's records
    expect(tamper).toBeLessThan(at((r) => r.kind === "checkpoint" && r.data.trigger === "shutdown"));
    expect(records.some((r) => r.kind === "flow" && r.data.dport === 6601)).toBe(false); // never read: in no flow record
    expect(atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]).code).toBe(0);
  });
});
