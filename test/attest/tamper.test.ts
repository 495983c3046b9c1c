/**
 * Self-attestation on a running agent, tampered with for real through bpftool on a lab veth: a detach, a
 * replacement program, a flow deleted from the map and one overwritten, a map pin removed (pinned back), another map
 * pinned in its place. Each becomes a `tamper` record,
 * a log line and ato_tamper_total{kind}; normal operation (a restart over the existing pins, idle flows
 * removed) becomes none. [kernel, root]
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { OBJECT, uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let pinDir: string;
let otherPin: string;
let tmp: string;
const PASS_OBJECT = OBJECT.replace("xdp_audit.o", "bench_pass.o");

beforeAll(async () => {
  setup = await agentSetup("tamper");
  lab = createLab();
  pinDir = uniquePinDir("tamper");
  otherPin = `${uniquePinDir("tamper-other")}`;
  tmp = mkdtempSync("/tmp/ato-attest-tamper-");
  expect(atoIn(null, ["hsm", "pubkey", "--out", `${tmp}/public.pem`], setup.env).code).toBe(0);
});
afterAll(async () => {
  agent?.kill();
  await agent?.proc.exited;
  bpftool(["net", "detach", "xdpdrv", "dev", lab.server.dev], true);
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(otherPin, { force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** bpftool inside the server namespace (nsenter --net keeps the host's bpffs). */
function bpftool(args: string[], allowFail = false): string {
  const r = Bun.spawnSync(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bpftool", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0 && !allowFail) throw new Error(`bpftool ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
const attachedId = () => JSON.parse(bpftool(["-j", "net", "show", "dev", lab.server.dev]))[0]?.xdp?.[0]?.id as number | undefined;
const start = () => Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, "--idle-timeout", "1", ...setup.args], setup.env);
const tampers = async () => (await setup.records()).filter((r) => r.kind === "tamper").map((r) => r.data);

describe("self-attestation against bpftool", () => {
  let programId: number;

  test("at load the kernel's own view is recorded; a restart over existing pins and idle flow removal are no tamper", async () => {
    agent = start();
    await agent.waitFor(/self-attestation: program id (\d+) tag ([0-9a-f]{16})/);
    lab.exec("client", ["ping", "-c", "3", "-i", "0.2", lab.server.v4]);
    expect(await agent.stop()).toBe(0);

    agent = start(); // the maps pinned by the first run are reused
    await agent.waitFor(/reusing pinned maps/);
    await agent.waitFor(/self-attestation: program id (\d+)/);
    programId = Number(/self-attestation: program id (\d+)/.exec(agent.output)![1]);
    expect(attachedId()).toBe(programId);
    const kernel = (await setup.records()).filter((r) => r.kind === "kernel").at(-1)!.data;
    expect(kernel.program.id).toBe(programId);
    expect(kernel.program.name).toBe("xdp_audit");
    expect(kernel.interfaces).toEqual([expect.objectContaining({ iface: lab.server.dev, mode: "drv" })]);
    const pinned = JSON.parse(bpftool(["-j", "map", "show", "pinned", `${pinDir}/flow_map`]));
    expect(kernel.maps.find((m: any) => m.name === "flow_map").id).toBe(pinned.id);
    // the conservation check's second program is in the record as ours, and the kernel knows it by that id and name,
    // reading the agent's own flow map
    expect(kernel.helpers).toEqual([expect.objectContaining({ role: "conservation_sum", name: "flow_sum" })]);
    const helper = JSON.parse(bpftool(["-j", "prog", "show", "id", String(kernel.helpers[0].id)]));
    expect(helper).toMatchObject({ name: "flow_sum", tag: kernel.helpers[0].tag, map_ids: [pinned.id] });
    expect(agent.output).toMatch(new RegExp(`helpers=conservation_sum:flow_sum:${kernel.helpers[0].id}`));

    lab.exec("client", ["ping", "-c", "2", "-i", "0.2", lab.server.v4]);
    await Bun.sleep(2500); // past the 1 s idle timeout: the collector removes the flows, a dozen intervals run
    expect(await tampers()).toEqual([]);
  });

  test("a detach becomes a tamper record within an interval, and the agent re-attaches its own program", async () => {
    bpftool(["net", "detach", "xdpdrv", "dev", lab.server.dev]);
    await agent!.waitFor(/tamper: detached/);
    expect((await tampers()).at(-1)).toMatchObject({ tamper: "detached", subject: `${lab.server.dev} (drv)`, action: "re-attached", expected: { id: programId } });
    expect(attachedId()).toBe(programId);
  });

  test("a replacement program is reported with its id and left in place", async () => {
    bpftool(["prog", "load", PASS_OBJECT, otherPin]);
    const other = JSON.parse(bpftool(["-j", "prog", "show", "pinned", otherPin])).id as number;
    bpftool(["net", "attach", "xdpdrv", "pinned", otherPin, "dev", lab.server.dev, "overwrite"]);
    await agent!.waitFor(/tamper: replaced/);
    expect((await tampers()).at(-1)).toMatchObject({ tamper: "replaced", found: { id: other }, expected: { id: programId } });
    await Bun.sleep(600); // more intervals: the same state is not reported again
    expect((await tampers()).filter((t) => t.tamper === "replaced")).toHaveLength(1);
    expect(attachedId()).toBe(other); // never displaced
    bpftool(["net", "detach", "xdpdrv", "dev", lab.server.dev]); // the replacement removed: ours comes back
    await agent!.waitFor(/tamper: detached[^\n]*\n(.|\n)*tamper: detached/);
    expect(attachedId()).toBe(programId);
  });

  test("conservation: a flow deleted from the map from outside is counts_missing; one overwritten upward is counts_added", async () => {
    const ping = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "ping", "-i", "0.2", lab.server.v4], { stdout: "ignore", stderr: "ignore" });
    try {
      const entry = async () => {
        for (let i = 0; i < 50; i++) {
          const e = JSON.parse(bpftool(["-j", "map", "dump", "pinned", `${pinDir}/flow_map`]))[0];
          if (e) return e;
          await Bun.sleep(100);
        }
        throw new Error("no flow in the map");
      };
      await Bun.sleep(700); // a few pings counted, a few intervals past without a finding
      expect((await tampers()).filter((t) => t.tamper.startsWith("counts"))).toEqual([]);
      const victim = await entry();
      bpftool(["map", "delete", "pinned", `${pinDir}/flow_map`, "key", ...victim.key]);
      await agent!.waitFor(/tamper: counts_missing/);
      const missing = (await tampers()).at(-1)!;
      expect(missing).toMatchObject({ tamper: "counts_missing", subject: "flow_map" });
      expect(BigInt(missing.found.missing_at_least)).toBeGreaterThan(0n);
      // a few flows in 65,536 entries: the check's own read is batch lookups (cheaper than the walk on so sparse a map)
      expect(["collector", "batch"]).toContain(missing.found.map_read_by);

      await Bun.sleep(600); // the ping re-created the flow; nothing further is missing
      expect((await tampers()).filter((t) => t.tamper === "counts_missing")).toHaveLength(1);
      const target = await entry();
      const value = [...target.values[0].value] as string[];
      value.splice(0, 8, "0xe8", "0x03", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"); // packets = 1000 (little endian), on every CPU
      bpftool(["map", "update", "pinned", `${pinDir}/flow_map`, "key", ...target.key, "value", ...value]);
      await agent!.waitFor(/tamper: counts_added/);
      expect(BigInt((await tampers()).at(-1)!.found.added_at_least)).toBeGreaterThan(900n);
    } finally {
      ping.kill();
      await ping.exited;
    }
  });

  test("the flow map's pin removed, then another map moved over it: each time the agent's own map is pinned back, the other kept aside", async () => {
    const pinned = (path: string) => JSON.parse(bpftool(["-j", "map", "show", "pinned", path])).id as number;
    const ours = pinned(`${pinDir}/flow_map`);
    rmSync(`${pinDir}/flow_map`);
    await agent!.waitFor(/tamper: map_unpinned/);
    expect(existsSync(`${pinDir}/flow_map`)).toBe(true); // pinned back in the same look that found it gone
    expect(pinned(`${pinDir}/flow_map`)).toBe(ours);
    // Another map put under the name in one step (a rename over the pin), as someone hiding the real one would.
    const foreignPin = `${pinDir}/foreign_map`;
    bpftool(["map", "create", foreignPin, "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "flow_map"]);
    const foreign = pinned(foreignPin);
    renameSync(foreignPin, `${pinDir}/flow_map`);
    await agent!.waitFor(/tamper: map_swapped/);
    const t = (await tampers()).slice(-2);
    expect(t.map((x) => x.tamper)).toEqual(["map_unpinned", "map_swapped"]);
    expect(t[0].action).toBe(`re-pinned the agent's own map (id ${ours})`);
    expect(t[1]).toMatchObject({ expected: { id: ours }, found: { id: foreign } });
    expect(t[1].action).toContain(`moved aside to ${pinDir}/flow_map_displaced_${foreign}, not deleted`);
    expect(pinned(`${pinDir}/flow_map`)).toBe(ours);
    expect(pinned(`${pinDir}/flow_map_displaced_${foreign}`)).toBe(foreign);
    // put back: the next intervals have nothing new to say
    await Bun.sleep(600);
    expect((await tampers()).slice(-2)).toEqual(t);
  });

  test("the findings are counted in /metrics, are events of the run's bundle, and the log still verifies", async () => {
    const url = /metrics on (http:\S+)/.exec(agent!.output)![1]!;
    const metrics = lab.exec("server", ["curl", "-sf", url]);
    expect(metrics).toContain('ato_tamper_total{kind="detached"} 2');
    expect(metrics).toContain('ato_tamper_total{kind="replaced"} 1');
    expect(metrics).toContain('ato_tamper_total{kind="map_swapped"} 1');
    expect(await agent!.stop()).toBe(0);
    const [, bundle, opId] = /attestation bundle (\S+attest-(\S+)\.jsonl)/.exec(agent!.output)!;
    const events = readFileSync(bundle!, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.event === "tamper");
    expect(events.map((e) => e.tamper)).toEqual(["detached", "replaced", "detached", "counts_missing", "counts_added", "map_unpinned", "map_swapped"]);
    const v = atoIn(null, ["attest", "verify", "--op", opId!, "--pubkey", `${tmp}/public.pem`, "--audit-dir", setup.auditDir], setup.env);
    expect(v.code).toBe(0);
    expect(atoIn(null, ["verify", setup.auditDir, "--pubkey", `${tmp}/public.pem`]).code).toBe(0);
    expect((await tampers()).map((t) => t.tamper)).toEqual(["detached", "replaced", "detached", "counts_missing", "counts_added", "map_unpinned", "map_swapped"]);
    rmSync(`${pinDir}/flow_map`, { force: true });
    expect(existsSync(otherPin)).toBe(true);
  });
});
