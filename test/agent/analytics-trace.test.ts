/**
 * `ato run --otlp-endpoint`: one span per collection cycle and one per durable checkpoint, sent as OTLP/HTTP
 * protobuf to a receiver in the agent's namespace and decoded with the published schema's generated decoders.
 * The last cycle span is the stop's final collection; the last checkpoint span has the log's final tree size.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import generatedRoot from "@opentelemetry/otlp-transformer/build/src/generated/root.js";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";

const Request = (generatedRoot as unknown as { opentelemetry: any }).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let agent: Agent | undefined;
let receiver: ReturnType<typeof Bun.spawn<"ignore", "pipe", "inherit">> | undefined;
let pinDir: string;
let bodies: string;

beforeAll(async () => {
  setup = await agentSetup("trace");
  lab = createLab();
  pinDir = uniquePinDir("agent-trace");
  bodies = mkdtempSync("/tmp/ato-agent-trace-");
});
afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
  receiver?.kill();
  await receiver?.exited;
  receiver = undefined;
});
afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(bodies, { recursive: true, force: true });
});

type Span = { name: string; attributes: Record<string, any> };

function spans(): Span[] {
  return readdirSync(bodies).sort().flatMap((f) => {
    const req = Request.toObject(Request.decode(readFileSync(`${bodies}/${f}`)), { longs: Number, defaults: false });
    return req.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => ({
      name: s.name,
      attributes: Object.fromEntries(s.attributes.map((a: any) => [a.key, Object.values(a.value)[0]])),
    }))));
  });
}

describe("[kernel][hsm] ato run --otlp-endpoint", () => {
  test("a span per collection cycle and per checkpoint, the last ones those of the stop", async () => {
    receiver = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/_otlp-receiver.ts`, bodies], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const first = await receiver.stdout.getReader().read();
    const { port } = JSON.parse(new TextDecoder().decode(first.value));
    agent = Agent.start(lab.server.ns, [
      "--iface", lab.server.dev, "--pin-dir", pinDir, "--active-timeout", "0", "--checkpoint-seconds", "1",
      "--otlp-endpoint", `http://127.0.0.1:${port}`, ...setup.args,
    ], setup.env);
    await agent.waitFor(/attached on/);
    sendUdp(lab, lab.server.v4, 7301, 20, 64);
    await Bun.sleep(1500);
    expect(await agent.stop()).toBe(0);
    const finalSize = Number(agent.output.match(/final checkpoint at tree size (\d+)/)![1]);

    const all = spans();
    const cycles = all.filter((s) => s.name === "ato.collect");
    const checkpoints = all.filter((s) => s.name === "ato.checkpoint");
    expect(all.filter((s) => s.name !== "ato.collect" && s.name !== "ato.checkpoint")).toEqual([]);
    expect(cycles.length).toBeGreaterThan(3); // 200 ms cycles over about two seconds
    expect(cycles.filter((s) => s.attributes.final).length).toBe(1);
    expect(cycles.at(-1)!.attributes).toMatchObject({ final: true });
    expect(cycles.some((s) => s.attributes.records > 0 && s.attributes.flows > 0)).toBe(true);
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints.at(-1)!.attributes).toEqual({ tree_size: finalSize, status: "ok" });
  }, 120_000);
});
