/**
 * [kernel][hsm] Witness submissions and forward batches as spans: `ato run --otlp-endpoint` with a witness and
 * `--forward` to a file sink. The agent's submissions and its child `ato forward`'s batches reach the same OTLP
 * receiver (the endpoint is passed on to the child), decoded with the published schema's generated decoders:
 * each submission names its witness, tree size and outcome; the batches' records and bytes add up to what the
 * sink received.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import generatedRoot from "@opentelemetry/otlp-transformer/build/src/generated/root.js";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { EvidenceLog } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { sendUdp } from "../support/traffic.ts";
import { WitnessProcess } from "../witness/_witness.ts";

const Request = (generatedRoot as unknown as { opentelemetry: any }).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let pinDir: string;
let tmp: string;
let bodies: string;
let witness: WitnessProcess | undefined;
let vkey: string;
let receiver: ReturnType<typeof Bun.spawn<"ignore", "pipe", "inherit">> | undefined;
let agent: Agent | undefined;

beforeAll(async () => {
  setup = await agentSetup("trace-spans");
  lab = createLab();
  pinDir = uniquePinDir("trace-spans");
  tmp = mkdtempSync("/tmp/ato-trace-spans-");
  bodies = mkdtempSync("/tmp/ato-trace-spans-otlp-");
  const pem = join(tmp, "public.pem");
  expect(atoIn(null, ["hsm", "pubkey", "--out", pem], setup.env).code).toBe(0);
  const t = setup.token;
  const log = EvidenceLog.open({ auditDir: setup.auditDir, signer: openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel }), checkpointIntervalMs: 0, onWarning: () => {} });
  const origin = log.status().origin;
  log.close();
  vkey = WitnessProcess.init(lab.server.ns, join(tmp, "w"), "witness.test/trace");
  witness = await WitnessProcess.start(lab.server.ns, join(tmp, "w"), [`${origin}=${pem}`]);
  writeFileSync(`${tmp}/forward.json`, JSON.stringify({
    state_dir: `${tmp}/state`, batch: { records: 20, linger_ms: 50 },
    sinks: [{ name: "export", type: "file", path: `${tmp}/export.ndjson` }],
  }));
}, 60_000);

afterAll(async () => {
  agent?.kill();
  await agent?.proc.exited;
  receiver?.kill();
  await receiver?.exited;
  await witness?.kill();
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  rmSync(bodies, { recursive: true, force: true });
});

type Span = { name: string; attributes: Record<string, any>; status?: { code?: number } };

function spans(): Span[] {
  return readdirSync(bodies).sort().flatMap((f) => {
    const req = Request.toObject(Request.decode(readFileSync(`${bodies}/${f}`)), { longs: Number, defaults: false });
    return req.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => ({
      name: s.name, status: s.status,
      attributes: Object.fromEntries(s.attributes.map((a: any) => [a.key, Object.values(a.value)[0]])),
    }))));
  });
}

describe("[kernel][hsm] spans of witness submissions and forward batches", () => {
  test("the agent's submissions and its forwarder's batches reach the same receiver, with counts, sizes and outcomes", async () => {
    receiver = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/../agent/_otlp-receiver.ts`, bodies], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const { port } = JSON.parse(new TextDecoder().decode((await receiver.stdout.getReader().read()).value));
    agent = Agent.start(lab.server.ns, [
      "--iface", lab.server.dev, "--pin-dir", pinDir, "--active-timeout", "0", "--checkpoint-seconds", "1",
      "--witness", `${witness!.url}=${vkey}`, "--forward", "export", "--forward-config", `${tmp}/forward.json`,
      "--otlp-endpoint", `http://127.0.0.1:${port}`, ...setup.args,
    ], setup.env);
    await agent.waitFor(/forwarding to export/);
    sendUdp(lab, lab.server.v4, 7302, 30, 64);
    await Bun.sleep(2500);
    expect(await agent.stop()).toBe(0);
    await Bun.sleep(300); // the drain's `ato forward --once` flushed its spans before it exited; the receiver wrote them

    const all = spans();
    const submits = all.filter((s) => s.name === "ato.witness.submit");
    const batches = all.filter((s) => s.name === "ato.forward.batch");
    expect(submits.length).toBeGreaterThan(0);
    for (const s of submits) {
      expect(s.attributes).toMatchObject({ witness: "witness.test/trace", outcome: "cosigned" });
      expect(s.attributes.tree_size).toBeGreaterThan(s.attributes.from_size);
    }
    // The final checkpoint was cosigned before the stop returned: its size is the last submission's.
    const finalSize = Number(agent.output.match(/final checkpoint at tree size (\d+)/)![1]);
    expect(submits.at(-1)!.attributes.tree_size).toBe(finalSize);

    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(b.attributes).toMatchObject({ sink: "export", outcome: "ok" });
    const lines = readFileSync(`${tmp}/export.ndjson`, "utf8").split("\n").filter(Boolean);
    expect(batches.reduce((n, b) => n + b.attributes.records, 0)).toBe(lines.length);
    // bytes: the log lines as on disk (with their newlines), which the export carries as its `line` fields.
    expect(batches.reduce((n, b) => n + b.attributes.bytes, 0)).toBe(lines.reduce((n, l) => n + Buffer.byteLength(JSON.parse(l).line) + 1, 0));
    expect(batches.map((b) => b.attributes.first_seq)).toEqual([...batches.map((b) => b.attributes.first_seq)].sort((a, b) => a - b));
    expect(all.some((s) => s.name === "ato.collect")).toBe(true); // the agent's own spans, in the same receiver
  }, 120_000);
});
