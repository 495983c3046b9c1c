/**
 * A /metrics scrape marks the agent watched (src/agent/watch.ts): for ATO_METRICS_WATCH_SECONDS every interval in
 * which a frame came reads the flow map; nobody scraping, the map is read only when a flow can be due (here never:
 * 600 s timeouts), and a scrape after such a stretch starts a cycle at once. Counted by the agent's own
 * ato_collector_map_reads_total, scraped from the real `ato run` on the lab while the client pings through it.
 * A tamper finding (an entry deleted from outside, found by the conservation check's own read at its cadence)
 * also starts a read at once, so the entry's evicted record comes in the interval of the finding.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup } from "../support/agent.ts";
import { deleteFlowTo, uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let ping: ReturnType<typeof Bun.spawn> | undefined;
let pinDir: string;

beforeAll(async () => {
  setup = await agentSetup("watch");
  lab = createLab();
  pinDir = uniquePinDir("watch");
});
afterEach(async () => {
  ping?.kill();
  await ping?.exited;
  ping = undefined;
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
});

/** The agent with 600 s timeouts (no flow is due while the test runs), every `intervalMs`, watched 1 s after a scrape. */
async function start(intervalMs: number, extra: string[] = []): Promise<() => number> {
  const args = setup.args.map((a, i, all) => (all[i - 1] === "--interval-ms" ? String(intervalMs) : a));
  agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--keep-ports", "all", "--idle-timeout", "600", "--active-timeout", "600", ...extra, ...args],
    { ...setup.env, ATO_METRICS_WATCH_SECONDS: "1" });
  await agent.waitFor(/metrics on (http:\S+)/);
  await agent.waitFor(/attached on/);
  const url = agent.output.match(/metrics on (http:\S+)/)![1]!;
  // Frames through every interval of the test: the kernel's packet counter always moves.
  ping = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "ping", "-q", "-i", "0.02", lab.server.v4], { stdout: "ignore", stderr: "ignore" });
  return () => {
    const m = lab.exec("server", ["curl", "-sf", url]).match(/^ato_collector_map_reads_total (\d+)/m);
    if (!m) throw new Error("no ato_collector_map_reads_total in /metrics");
    return Number(m[1]);
  };
}

describe("[kernel][hsm] what makes the agent read the flow map", () => {
  test("while scraped, every interval reads the map; a window after the last scrape, reads stop", async () => {
    const reads = await start(200);
    await Bun.sleep(1500);
    const first = reads(); // nobody looked yet: only the first cycle read (the pinned map is new)
    expect(first).toBe(1);
    let watched = first;
    for (let i = 0; i < 10; i++) { await Bun.sleep(200); watched = reads(); } // scraped every 200 ms for 2 s
    expect(watched - first).toBeGreaterThanOrEqual(7); // ~10 intervals, each read
    await Bun.sleep(3000); // unwatched: the 1-s window's ~5 intervals read, the next ~2 s none
    const after = reads();
    expect(after - watched).toBeGreaterThanOrEqual(3);
    expect(after - watched).toBeLessThanOrEqual(8); // a read every interval would be ~15
  });

  test("a scrape after an unwatched stretch starts a cycle at once; its own answer is the last read's", async () => {
    const reads = await start(4000);
    await Bun.sleep(4500); // the first cycle (4 s after the start) has read; the next tick is 4 s later
    const first = reads();
    expect(first).toBe(1);
    await Bun.sleep(400);
    expect(reads()).toBe(first + 1); // the cycle that scrape started read the map, long before the next tick
  });

  test("an entry deleted from outside: the conservation check's finding starts a read, and the entry's evicted record comes at once", async () => {
    const reads = await start(200, ["--conservation-every", "5"]); // the check's own read every 5th interval (1 s)
    await Bun.sleep(500);
    sendUdp(lab, lab.server.v4, 6501, 10, 16, [0], 46501);
    const read = reads() + 1;
    for (let i = 0; i < 20 && reads() < read; i++) await Bun.sleep(100); // the scrape's cycle read the 10 packets
    await Bun.sleep(1500); // the 1-s window is over: nothing reads the map now (600 s timeouts)
    sendUdp(lab, lab.server.v4, 6501, 5, 16, [0], 46501); // counted by the kernel, not read by the collector
    expect(deleteFlowTo(pinDir, 6501)).toBe(15n);
    const flows = async () => (await setup.records()).filter((r) => r.kind === "flow" && r.data.dport === 6501);
    for (let i = 0; i < 40 && (await flows()).length === 0; i++) await Bun.sleep(100); // within the check's 1 s
    // What the collector had read of it, as a read every interval would have recorded it (the 5 after the read are
    // in no flow record: the tamper record says they are missing).
    expect((await flows()).map((r) => [r.data.reason, r.data.packets])).toEqual([["evicted", 10]]);
    const tamper = (await setup.records()).filter((r) => r.kind === "tamper").map((r) => r.data.tamper);
    expect(tamper).toEqual(["counts_missing"]);
  });
});
