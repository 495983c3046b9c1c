/**
 * Spans exported over OTLP/HTTP as a receiver decodes them with the generated decoders of the published
 * opentelemetry-proto schema (@opentelemetry/otlp-transformer 0.52's protobufjs root, a devDependency): names,
 * ids, parentage, times, attributes of each type, error status, the resource; and nothing at all when off.
 */
import { afterEach, describe, expect, test } from "bun:test";
import generatedRoot from "@opentelemetry/otlp-transformer/build/src/generated/root.js";
import { createTracer, NOOP_TRACER, OtlpTracer } from "../../src/trace/index.ts";

// The generated root's typings name the namespaces loosely; the decoders are plain protobufjs static code.
const generated = generatedRoot as unknown as { opentelemetry: any };
const Request = generated.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const cleanup: (() => unknown)[] = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

function receiver(status = 200) {
  const bodies: { path: string; type: string | null; body: Uint8Array }[] = [];
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch(req) {
    bodies.push({ path: new URL(req.url).pathname, type: req.headers.get("content-type"), body: new Uint8Array(await req.arrayBuffer()) });
    return new Response(null, { status });
  } });
  cleanup.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, bodies };
}

const decode = (b: Uint8Array) => Request.toObject(Request.decode(b), { longs: String, bytes: String, defaults: false });
const attrs = (kvs: { key: string; value: Record<string, unknown> }[]) => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));

describe("OTLP/HTTP protobuf export", () => {
  test("a collection cycle with a checkpoint inside decodes with the published schema", async () => {
    const rx = receiver();
    const t = new OtlpTracer({ endpoint: rx.url, serviceName: "ato", serviceVersion: "9.9.9" });
    const before = BigInt(Date.now()) * 1_000_000n;
    const cycle = t.start("collector.cycle", { flows: 1200, records: 0, ratio: 0.25, partial: false, iface: "" });
    const cp = cycle.child("log.checkpoint").set("tree_size", 4242);
    cp.end(new Error("HSM busy"));
    cycle.set("records", 37).end();
    await t.flush();
    const after = BigInt(Date.now()) * 1_000_000n;

    expect(rx.bodies.map((b) => [b.path, b.type])).toEqual([["/v1/traces", "application/x-protobuf"]]);
    const req = decode(rx.bodies[0]!.body);
    const rs = req.resourceSpans[0];
    expect(attrs(rs.resource.attributes)).toEqual({ "service.name": { stringValue: "ato" }, "service.version": { stringValue: "9.9.9" } });
    expect(rs.scopeSpans[0].scope).toEqual({ name: "ato", version: "9.9.9" });
    const [child, parent] = rs.scopeSpans[0].spans;
    expect(parent.name).toBe("collector.cycle");
    expect(child.name).toBe("log.checkpoint");
    expect(Buffer.from(parent.traceId, "base64")).toHaveLength(16);
    expect(Buffer.from(parent.spanId, "base64")).toHaveLength(8);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.parentSpanId).toBe(parent.spanId);
    expect(parent.parentSpanId).toBeUndefined();
    expect(parent.kind).toBe(1); // SPAN_KIND_INTERNAL
    expect(attrs(parent.attributes)).toEqual({ flows: { intValue: "1200" }, records: { intValue: "37" }, ratio: { doubleValue: 0.25 }, partial: { boolValue: false }, iface: { stringValue: "" } });
    expect(attrs(child.attributes)).toEqual({ tree_size: { intValue: "4242" } });
    expect(child.status).toEqual({ code: 2, message: "HSM busy" });
    for (const s of [parent, child]) {
      expect(BigInt(s.startTimeUnixNano)).toBeGreaterThanOrEqual(before - 5_000_000n);
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
      expect(BigInt(s.endTimeUnixNano)).toBeLessThanOrEqual(after + 5_000_000n);
    }
  });

  test("a full batch is sent at once; a receiver that refuses or is down loses spans, counted, never thrown", async () => {
    const rx = receiver(503);
    const t = new OtlpTracer({ endpoint: rx.url, serviceName: "ato", serviceVersion: "1", maxBatch: 3, flushMs: 60_000 });
    for (let i = 0; i < 3; i++) t.start("forward.batch", { n: i }).end();
    await t.flush();
    expect(rx.bodies.length).toBe(1);
    expect(decode(rx.bodies[0]!.body).resourceSpans[0].scopeSpans[0].spans.map((s: { name: string }) => s.name)).toEqual(["forward.batch", "forward.batch", "forward.batch"]);
    expect(t.stats).toMatchObject({ spans: 3, requests: 1, failedRequests: 1, droppedSpans: 3 });
    const down = new OtlpTracer({ endpoint: "http://127.0.0.1:9", serviceName: "ato", serviceVersion: "1" });
    down.start("witness.submit").end();
    await down.flush();
    expect(down.stats).toMatchObject({ failedRequests: 1, droppedSpans: 1 });
  });

  test("off by default: no endpoint gives the no-op tracer, whose spans are one shared object and send nothing", async () => {
    const t = createTracer({ serviceVersion: "1" });
    expect(t).toBe(NOOP_TRACER);
    expect(t.enabled).toBe(false);
    const a = t.start("collector.cycle", { flows: 1 });
    expect(t.start("log.checkpoint")).toBe(a);
    expect(a.child("x").set("k", 1)).toBe(a);
    a.end();
    await t.flush();
  });
});
