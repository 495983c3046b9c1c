/**
 * `ato run` starts over once, at its very start, with BUN_GC_TIMER_DISABLE=1 (src/cli/gc-timer.ts): the
 * pid the caller spawned is the agent, and its environment (as the kernel shows it) has the variable.
 * An operator's BUN_GC_TIMER_DISABLE=0 is left as it is, and an exec that the kernel refuses leaves the
 * agent running with the timer and one line saying why.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

const DIST = [`${import.meta.dir}/../../dist/ato`];
let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
const pinDir = uniquePinDir("gctimer");
let agent: Agent | undefined;

beforeAll(async () => {
  lab = createLab();
  setup = await agentSetup("gctimer");
});

afterAll(async () => {
  agent?.kill();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  await setup?.cleanup();
});

/** The BUN_GC_TIMER_DISABLE entries of a process's environment, as the kernel holds it. */
const gcTimerVars = (pid: number) =>
  readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").filter((v) => v.startsWith("BUN_GC_TIMER_DISABLE="));

/** Until the agent has attached and catches SIGTERM. */
async function running(a: Agent): Promise<void> {
  await a.waitFor(/attached on/);
  const sigCaught = () => BigInt(`0x${/^SigCgt:\s*(\w+)/m.exec(readFileSync(`/proc/${a.proc.pid}/status`, "utf8"))![1]}`);
  for (let i = 0; i < 100 && !(sigCaught() & (1n << 14n)); i++) await Bun.sleep(20);
}

const start = (env: Record<string, string>, command?: string[]) => {
  const base = { ...process.env, ...setup.env, ...env } as Record<string, string>;
  if (!("BUN_GC_TIMER_DISABLE" in env)) delete base.BUN_GC_TIMER_DISABLE;
  return Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], base, command);
};

describe("[kernel][hsm] ato run without Bun's GC timer", () => {
  test("dist/ato: the spawned pid runs with BUN_GC_TIMER_DISABLE=1 under its own name, attaches and writes its evidence", async () => {
    agent = start({}, DIST);
    await running(agent);
    expect(gcTimerVars(agent.proc.pid)).toEqual(["BUN_GC_TIMER_DISABLE=1"]);
    // Named after its argv[0] as before, not "exe" (the file it re-executed, /proc/self/exe).
    expect(readFileSync(`/proc/${agent.proc.pid}/comm`, "utf8")).toBe("ato\n");
    lab.exec("client", ["ping", "-c", "2", "-i", "0.2", lab.server.v4]);
    await Bun.sleep(600);
    expect(await agent.stop()).toBe(0);
    expect(agent.output).toMatch(/final checkpoint at tree size [1-9]\d* signature_status=ok/);
    expect(agent.output).not.toContain("GC timer");
    expect((await setup.records()).some((r) => r.kind === "flow" && r.data.dst.startsWith(lab.server.v4.split(".").slice(0, 3).join(".")))).toBe(true);
  }, 60_000);

  test("an operator's BUN_GC_TIMER_DISABLE=0 keeps the timer, and says so", async () => {
    agent = start({ BUN_GC_TIMER_DISABLE: "0" });
    await running(agent);
    expect(gcTimerVars(agent.proc.pid)).toEqual(["BUN_GC_TIMER_DISABLE=0"]);
    expect(await agent.stop()).toBe(0);
    expect(agent.output).toContain("ato: Bun's GC timer stays on: BUN_GC_TIMER_DISABLE=0 in the environment\n");
  }, 60_000);

  test("an exec the kernel refuses leaves the agent running with the timer, and one line why", async () => {
    agent = start({ ATO_REEXEC_EXE: "/nonexistent/ato" });
    await running(agent);
    expect(gcTimerVars(agent.proc.pid)).toEqual([]);
    expect(await agent.stop()).toBe(0);
    expect(agent.output.match(/^.*GC timer.*\n/gm)).toEqual(["ato: Bun's GC timer stays on: execve /nonexistent/ato: ENOENT\n"]);
  }, 60_000);
});
