/**
 * /metrics latency under load, measured with wrk when it is installed (apt-get install -y wrk). Reported, never
 * asserted: timings depend on the machine. Run alone for a clean number:
 *   bun test test/metrics/latency.test.ts
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createMetrics, createServer } from "../../src/metrics/index.ts";

const wrk = Bun.which("wrk");
const metrics = createMetrics({ build: { libbpf: "1.5.0" } });
for (const proto of [1, 6, 17, 58, 47]) metrics.addTraffic(proto, 1000, 150_000);
for (let i = 0; i < 1000; i++) metrics.signingDuration.observe(0.0005 + i * 1e-5);
const server = createServer({ metrics, health: () => ({ attached: true, hsm: true, logWritable: true }), checkpoint: () => null, listen: "127.0.0.1:0" });
afterAll(() => server.stop());

describe("[bench] /metrics latency", () => {
  // One connection is how Prometheus scrapes; sixteen shows the cost under contention.
  for (const connections of [1, 16]) {
    test.skipIf(!wrk)(`wrk -t1 -c${connections} -d3s --latency reports p50 and p99`, async () => {
      const cmd = [wrk!, "-t1", `-c${connections}`, "-d3s", "--latency", `${server.url}/metrics`];
      const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
      const [out, , code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(code).toBe(0);
      const pct = (q: string) => new RegExp(`^\\s*${q}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "?";
      const rps = /Requests\/sec:\s+(\S+)/.exec(out)?.[1] ?? "?";
      const size = (await (await fetch(`${server.url}/metrics`)).text()).length;
      console.log(`/metrics (${size} bytes), ${connections} connection(s): p50 ${pct("50")}, p99 ${pct("99")}, ${rps} requests/s — wrk ${cmd.slice(1).join(" ")}`);
      expect(out).not.toContain("Non-2xx");
    }, 30_000);
  }
});
