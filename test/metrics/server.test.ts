/** The metrics server over real HTTP: /metrics (checked by promtool), /healthz, /readyz, /checkpoint, binding. */
import { afterEach, describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import { AtoError } from "../../src/errors.ts";
import { createMetrics, createServer, type Health, type MetricsServer } from "../../src/metrics/index.ts";
import { samples } from "./_scrape.ts";

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function start(opts: { health?: () => Health; checkpoint?: () => string | null; listen?: string } = {}) {
  const metrics = createMetrics({ build: { libbpf: "1.5.0" } });
  const server = createServer({
    metrics,
    health: opts.health ?? (() => ({ attached: true, hsm: true, logWritable: true })),
    checkpoint: opts.checkpoint ?? (() => null),
    listen: opts.listen ?? "127.0.0.1:0",
  });
  servers.push(server);
  return { metrics, server };
}

/** Feeds every helper, so the scrape shows the busiest label sets a running agent can have. */
function exercise(m: ReturnType<typeof createMetrics>) {
  for (const proto of [1, 6, 17, 58, 47]) m.addTraffic(proto, 3, 300);
  m.countEvent("spike");
  m.countEvent("timing", 5.5);
  m.countEvent("overflow");
  m.setKernelCounters({ malformed: 1n, map_full: 2n, ringbuf_full: 3n, non_ip: 4n });
  m.setFlowMap(10, 65536);
  m.signingDuration.observe(0.0021);
  m.collectorCycle.observe(0.004);
  m.recordCheckpoint({ treeSize: 42, signed: true, flows: 40 });
  m.evidenceLogBytes.set(12345);
  m.hsmErrors.inc();
  m.logWriteErrors.inc(0);
}

describe("metrics server", () => {
  test("binds port 0 to a free port and reports it", () => {
    const { server } = start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  test("/metrics serves the registry in Prometheus text format", async () => {
    const { metrics, server } = start();
    exercise(metrics);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.registry.contentType);
    const text = await res.text();
    expect(text).toContain("# TYPE ato_verified_flows_total counter");
    expect(text).toContain("# HELP xdp_audit_last_tscore ");
    expect(text).toContain('ato_packets_total{proto="icmp6",direction="ingress"} 3');
    expect(text).toContain("ato_signing_duration_seconds_bucket{le=\"0.0025\"} 1");
  });

  test("promtool check metrics finds nothing to report", async () => {
    const { metrics, server } = start();
    exercise(metrics);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const p = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(out + err).toBe("");
    expect(code).toBe(0);
  });

  test("concurrent scrapes while the metrics change each get a 200 and a whole exposition (latency is measured in scripts/bench-agent.ts)", async () => {
    const { metrics, server } = start();
    exercise(metrics);
    const updates = setInterval(() => metrics.addTraffic(17, 1, 100), 0);
    try {
      const responses = await Promise.all(Array.from({ length: 64 }, () => fetch(`${server.url}/metrics`)));
      const bodies = await Promise.all(responses.map((r) => r.text()));
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      for (const text of bodies) {
        expect(text.endsWith("\n")).toBe(true);
        const names = new Set(samples(text).map((x) => x.name));
        expect(names.has("ato_build_info") && names.has("process_open_fds") && names.has("ato_packets_total")).toBe(true);
      }
    } finally {
      clearInterval(updates);
    }
  });

  test("no label is per flow: no label value looks like an address, labels come from fixed sets", async () => {
    const { metrics, server } = start();
    exercise(metrics);
    const all = samples(await (await fetch(`${server.url}/metrics`)).text());
    const labelNames = new Set(all.flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].sort()).toEqual(["bun", "commit", "direction", "kind", "le", "libbpf", "proto", "version"]);
    for (const s of all) {
      for (const v of Object.values(s.labels)) {
        expect({ series: s.name, v, ip: isIP(v) !== 0 || /\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f]*:/i.test(v) }).toEqual({ series: s.name, v, ip: false });
      }
    }
  });

  test("/healthz says ok while the process runs", async () => {
    const { server } = start({ health: () => ({ attached: false, hsm: false, logWritable: false }) });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe("ok");
  });

  test("/readyz is 503 naming what failed, then 200 once attached, HSM reachable and log writable", async () => {
    const h: Health = { attached: false, hsm: true, logWritable: true, details: { attached: "not yet attached to eth0" } };
    const { server } = start({ health: () => h });
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false, failed: ["attached"], checks: { attached: false, hsm: true, logWritable: true }, details: { attached: "not yet attached to eth0" },
    });

    h.attached = true;
    h.hsm = false;
    h.logWritable = false;
    h.details = undefined;
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect((await res.json()).failed).toEqual(["hsm", "logWritable"]);

    h.hsm = true;
    h.logWritable = true;
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, failed: [], checks: { attached: true, hsm: true, logWritable: true } });
  });

  test("/readyz is 503 when the health callback throws", async () => {
    const { server } = start({ health: () => { throw new Error("collector stopped"); } });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, failed: ["health"], error: "collector stopped" });
  });

  test("/checkpoint is 404 before the first signed checkpoint, then its note as text/plain", async () => {
    let note: string | null = null;
    const { server } = start({ checkpoint: () => note });
    let res = await fetch(`${server.url}/checkpoint`);
    expect(res.status).toBe(404);
    await res.text();

    note = "ato.example/host-a\n42\nq5k3lTvkqTR4Ym4PcRDfRsyRvEsZcs1sFApp1ENAy/c=\n\n— ato.example/host-a AbCdEf==\n";
    res = await fetch(`${server.url}/checkpoint`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    expect(await res.text()).toBe(note);
  });

  test("an unknown path is 404", async () => {
    const { server } = start();
    const res = await fetch(`${server.url}/debug`);
    expect(res.status).toBe(404);
    await res.text();
  });

  test("listens on IPv6 loopback given as [::1]:PORT", async () => {
    const { server } = start({ listen: "[::1]:0" });
    expect(server.url).toBe(`http://[::1]:${server.port}`);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    await res.text();
  });

  test("a port in use is one clear AtoError(BUSY) line", () => {
    const { server } = start();
    let err: unknown;
    try {
      start({ listen: `127.0.0.1:${server.port}` });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtoError);
    expect((err as AtoError).code).toBe("BUSY");
    expect((err as AtoError).message).toStartWith(`port ${server.port} on 127.0.0.1 is already in use`);
    expect((err as AtoError).message).not.toContain("\n");
  });

  test("an invalid listen address is AtoError(CONFIG) before anything binds", () => {
    expect(() => start({ listen: "::1:9400" })).toThrow(/in brackets/);
  });
});
