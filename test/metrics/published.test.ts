/**
 * The agent's metrics server: a Bun Worker answering from snapshots the agent renders when a scrape needs one.
 * Nothing is rendered while nobody scrapes; a scrape shows the last publish (every cycle), counters never go back;
 * scrapes are answered while the agent's thread is blocked (from the last render); the scrape-time series come
 * from the worker; /readyz, /checkpoint and binding behave as the in-process server.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { AtoError } from "../../src/errors.ts";
import { createMetrics, createPublishedServer, type Health, type PublishedServer } from "../../src/metrics/index.ts";
import { declarations, value } from "./_scrape.ts";

const servers: PublishedServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function start(opts: { health?: () => Health; checkpoint?: () => string | null; listen?: string } = {}) {
  const metrics = createMetrics({ liveElsewhere: true, build: { libbpf: "1.5.0" } });
  const server = createPublishedServer({
    metrics,
    health: opts.health ?? (() => ({ attached: true, hsm: true, logWritable: true })),
    checkpoint: opts.checkpoint ?? (() => null),
    listen: opts.listen ?? "127.0.0.1:0",
  });
  servers.push(server);
  return { metrics, server };
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe("published metrics server (a worker serving snapshots)", () => {
  test("serves what was published, plus process_* and the checkpoint age read at the scrape; promtool finds nothing", async () => {
    const { metrics, server } = start();
    metrics.addTraffic(6, 7, 700);
    metrics.recordCheckpoint({ treeSize: 5, signed: true, flows: 4 });
    await server.publish();
    const text = await scrape(server.url);
    expect(value(text, "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(7);
    expect(value(text, "ato_verified_flows_total")).toBe(4);
    const { types } = declarations(text);
    for (const name of ["ato_checkpoint_age_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds", "ato_build_info"]) {
      expect({ name, declared: types.has(name) }).toEqual({ name, declared: true });
    }
    expect(value(text, "ato_checkpoint_age_seconds")!).toBeLessThan(60);
    const p = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(out + err).toBe("");
    expect(code).toBe(0);
  });

  test("a scrape that arrives before the first snapshot (the agent just bound) waits for it instead of failing", async () => {
    const metrics = createMetrics({ liveElsewhere: true, build: { libbpf: "1.5.0" } });
    metrics.addTraffic(6, 7, 700);
    // The first render lands late, as when the agent's start-up holds its thread right after binding.
    const render = metrics.registry.metrics.bind(metrics.registry);
    let slow = true;
    metrics.registry.metrics = async () => { if (slow) { slow = false; await Bun.sleep(400); } return render(); };
    const server = createPublishedServer({ metrics, health: () => ({ attached: true, hsm: true, logWritable: true }), checkpoint: () => null, listen: "127.0.0.1:0" });
    servers.push(server);
    const r = await fetch(`${server.url}/metrics`);
    expect(r.status).toBe(200);
    expect(value(await r.text(), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(7);
  });

  test("a scrape is answered while the agent's thread is blocked (a cycle, a signature, a GC): from the last render, after a short wait", async () => {
    const { metrics, server } = start();
    metrics.addTraffic(17, 3, 300);
    await server.publish();
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "udp", direction: "ingress" })).toBe(3);
    // Something new that the blocked thread cannot render: the worker waits briefly for it, then answers with what it has.
    metrics.addTraffic(17, 5, 500);
    await server.publish();
    const dir = mkdtempSync("/tmp/ato-published-");
    dirs.push(dir);
    // curl runs in its own process; this thread blocks until its answer is on disk, so only another thread can answer.
    Bun.spawn(["sh", "-c", `curl -s -o ${dir}/tmp ${server.url}/metrics && mv ${dir}/tmp ${dir}/body`]);
    const until = Date.now() + 20_000;
    while (!existsSync(`${dir}/body`) && Date.now() < until) Bun.sleepSync(10);
    expect(existsSync(`${dir}/body`)).toBe(true);
    expect(value(readFileSync(`${dir}/body`, "utf8"), "ato_packets_total", { proto: "udp", direction: "ingress" })).toBe(3);
    // Once the thread is free, the next scrape has it.
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "udp", direction: "ingress" })).toBe(8);
  });

  test("nothing is rendered while nobody scrapes; a scrape renders what changed since the last one, once", async () => {
    const { metrics, server } = start();
    for (let i = 0; i < 5; i++) {
      metrics.addTraffic(6, 1, 100);
      await server.publish(); // what the agent does after each cycle
    }
    await Bun.sleep(100);
    expect(server.renders).toEqual({ metrics: 0, state: 0 });
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(5);
    expect(server.renders.metrics).toBe(1);
    // Nothing published since: the same exposition serves the next scrapes (process_* are still read at each).
    const texts = await Promise.all([scrape(server.url), scrape(server.url), scrape(server.url)]);
    for (const t of texts) expect(value(t, "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(5);
    expect(server.renders.metrics).toBe(1);
    // A cycle's publish: the next scrape renders again, and has that cycle.
    metrics.addTraffic(6, 2, 100);
    await server.publish();
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(7);
    expect(server.renders.metrics).toBe(2);
  });

  test("what changes without a publish (a witness's counters between cycles) shows within a second", async () => {
    const { metrics, server } = start();
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(0);
    metrics.addTraffic(6, 4, 100); // no publish
    await Bun.sleep(1100);
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(4);
  });

  test("values are those of the last publish, and counters never go back", async () => {
    const { metrics, server } = start();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      metrics.addTraffic(6, 1, 100);
      await server.publish();
      await Bun.sleep(20);
      seen.push(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })!);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // Many renders in flight at once: whichever the worker gets last, it keeps the newest.
    metrics.addTraffic(6, 10, 100);
    await Promise.all(Array.from({ length: 20 }, () => server.publish()));
    await Bun.sleep(50);
    expect(value(await scrape(server.url), "ato_packets_total", { proto: "tcp", direction: "ingress" })).toBe(15);
  });

  test("/readyz, /healthz and /checkpoint answer from the published health and note", async () => {
    const h: Health = { attached: false, hsm: true, logWritable: true, details: { attached: "not yet attached to eth0" } };
    let note: string | null = null;
    let broken = false;
    const { server } = start({ health: () => { if (broken) throw new Error("collector stopped"); return h; }, checkpoint: () => note });
    await server.publish();
    await Bun.sleep(20);
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, failed: ["attached"], checks: { attached: false, hsm: true, logWritable: true }, details: { attached: "not yet attached to eth0" } });
    res = await fetch(`${server.url}/checkpoint`);
    expect(res.status).toBe(404);
    await res.text();

    h.attached = true;
    h.details = undefined;
    note = "ato.example/host-a\n42\nq5k3lTvkqTR4Ym4PcRDfRsyRvEsZcs1sFApp1ENAy/c=\n\n— ato.example/host-a AbCdEf==\n";
    await server.publish();
    await Bun.sleep(20);
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, failed: [], checks: { attached: true, hsm: true, logWritable: true } });
    res = await fetch(`${server.url}/checkpoint`);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    expect(await res.text()).toBe(note);

    // Health is asked for at each /readyz: a change shows without a publish (a witness falls silent with time alone).
    h.logWritable = false;
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect((await res.json()).failed).toEqual(["logWritable"]);
    h.logWritable = true;

    broken = true;
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, failed: ["health"], error: "collector stopped" });
    res = await fetch(`${server.url}/healthz`);
    expect((await res.text()).trim()).toBe("ok");
    res = await fetch(`${server.url}/debug`);
    expect(res.status).toBe(404);
    await res.text();
  });

  test("a port in use is AtoError(BUSY) before start returns; a stopped server frees its port", async () => {
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
    await servers.splice(0)[0]!.stop();
    const again = start({ listen: `127.0.0.1:${server.port}` });
    expect(again.server.port).toBe(server.port);
  });
});
