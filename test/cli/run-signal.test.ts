/**
 * `ato run` catches SIGTERM from before it attaches (src/cli/run.ts): a stop asked for the moment the agent
 * says "attached on" (the program is attached in the middle of its start, which then goes on) is a clean
 * stop — the program detached, a final checkpoint signed, exit 0 — never the default kill that leaves the
 * program attached and the log without its last checkpoint.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { agentSetup } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

const DIST = `${import.meta.dir}/../../dist/ato`;
let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
const pinDir = uniquePinDir("runsig");
let proc: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  lab = createLab();
  setup = await agentSetup("runsig");
});

afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill("SIGKILL");
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  await setup?.cleanup();
});

describe("[kernel][hsm] ato run and a SIGTERM at its attach", () => {
  test("SIGTERM sent as soon as 'attached on' is read: exit 0, the program detached, a signed final checkpoint", async () => {
    proc = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, DIST, "run", "--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...setup.env },
    });
    let out = "";
    let signalled = false;
    const p = proc;
    // Read as it comes (no polling): the signal leaves within a read of the line, while the start goes on.
    const read = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) {
        out += new TextDecoder().decode(chunk);
        if (!signalled && /attached on/.test(out)) { signalled = true; p.kill("SIGTERM"); }
      }
    };
    await Promise.all([read(p.stdout as ReadableStream<Uint8Array>), read(p.stderr as ReadableStream<Uint8Array>)]);
    expect(signalled).toBe(true);
    expect(await p.exited).toBe(0);
    expect(out).toContain("received SIGTERM, stopping");
    // The start's own read of the map counted its flows (none or a few here): the stop's JIT policy is set (src/cli/jit.ts).
    expect(out).toMatch(/received SIGTERM, stopping known_flows=\d+ stop_jit_policy=100\n/);
    expect(out).toMatch(/final checkpoint at tree size [1-9]\d* signature_status=ok/);
    const xdp = lab.exec("server", ["ip", "-d", "link", "show", lab.server.dev]);
    expect(xdp).not.toMatch(/prog\/xdp/);
  }, 60_000);

  // src/agent/heap.ts: JavaScriptCore's own full collection, begun at the first ticks, would stay open in slices for
  // the whole run (tens of seconds); the start's synchronous one has ended before the agent has run 2 s.
  /** The real `ato run` under BUN_JSC_logGC, SIGTERM `afterMs` after "attached on": everything it wrote. */
  async function runLogged(afterMs: number, env: Record<string, string> = { BUN_JSC_logGC: "1" }): Promise<string> {
    const gcPin = uniquePinDir("rungc");
    const p = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, DIST, "run", "--iface", lab.server.dev, "--pin-dir", gcPin, ...setup.args], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...setup.env, ...env },
    });
    proc = p;
    let out = "";
    let signalled = false;
    const read = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) {
        out += new TextDecoder().decode(chunk);
        if (!signalled && /attached on/.test(out)) { signalled = true; setTimeout(() => p.kill("SIGTERM"), afterMs); }
      }
    };
    try {
      await Promise.all([read(p.stdout as ReadableStream<Uint8Array>), read(p.stderr as ReadableStream<Uint8Array>)]);
      expect(await p.exited).toBe(0);
    } finally {
      rmSync(gcPin, { recursive: true, force: true });
    }
    return unsplit(out);
  }

  /**
   * JavaScriptCore writes a GC line in pieces, so a line of ato's own from another thread can land inside one
   * ("[GC<" + "ato: metrics on ...\n" + "0x...>: START M ..."): ato's line is put back before the GC line it split.
   */
  function unsplit(text: string): string {
    const ls = text.split("\n"), out: string[] = [];
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!, k = l.indexOf("ato: ");
      if (k > 0 && l.startsWith("[GC<") && i + 1 < ls.length) { out.push(l.slice(k)); ls[i + 1] = l.slice(0, k) + ls[i + 1]; }
      else out.push(l);
    }
    return out.join("\n");
  }

  test("the start's garbage is collected by one full collection that has ended before the run goes on (BUN_JSC_logGC)", async () => {
    const out = await runLogged(2000);
    const run = out.slice(out.indexOf("attached on"), out.indexOf("received SIGTERM"));
    // Some heap's full collection began in that window and its cycle ended there too (its last slice says
    // "cycle … ms END": a later "M" line, or the START line itself when the whole collection fit in one slice).
    // Any heap: the metrics Worker's heap may begin one of its own there and keep it open.
    const begun = [...run.matchAll(/GC<(0x[0-9a-f]+)>: START M \d+kb => FullCollection/g)];
    expect(begun.length).toBeGreaterThan(0);
    const ended = begun.filter((m) => new RegExp(`GC<${m[1]}>: (?:START )?M [^\\n]*cycle [0-9.]+ms END`).test(run.slice(m.index)));
    expect(ended.length).toBeGreaterThan(0);
  }, 60_000);

  test("with the conservation check off, the stop's JIT policy takes the collector's count of its last read", async () => {
    const out = await runLogged(1500, { ATO_CONSERVATION_EVERY: "0" });
    expect(out).toMatch(/received SIGTERM, stopping known_flows=\d+ stop_jit_policy=100\n/);
  }, 60_000);

  test("the metrics Worker's heap is collected once it binds, and collects nothing in the stop (BUN_JSC_logGC)", async () => {
    const out = await runLogged(3000);
    // The Worker's heap is the last one to start before the agent says where its metrics are (the Worker binds them).
    const served = out.indexOf("metrics on ");
    expect(served).toBeGreaterThan(0);
    const worker = [...out.slice(0, served).matchAll(/GC<(0x[0-9a-f]+)>: starting/g)].at(-1)?.[1];
    expect(worker).toBeDefined();
    const lines = (from: number, to?: number) => out.slice(from, to).split("\n").filter((l) => l.startsWith(`[GC<${worker}>:`));
    const stop = out.indexOf("received SIGTERM");
    const before = lines(0, stop);
    const full = before.findIndex((l) => /START M \d+kb => FullCollection/.test(l));
    expect(full).toBeGreaterThanOrEqual(0);
    expect(before.slice(full).some((l) => /cycle [0-9.]+ms END/.test(l))).toBe(true);
    // Nothing open to end in the stop: the Worker heap's first collection slice after the signal, if any, starts a
    // collection of its own (the VM's teardown at the Worker's exit may begin one, more often on a loaded machine);
    // without the collection at bind, the one begun at the start was still open here and its slices came first.
    const after = lines(stop).filter((l) => /: (?:START )?M /.test(l));
    if (after.length > 0) expect(after[0]).toMatch(/: START M /);
  }, 60_000);
});
