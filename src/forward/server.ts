/**
 * The standalone forwarder's endpoints: /metrics (Prometheus) and /readyz (503 naming every
 * sink stuck past the configured limit). Binding reuses src/metrics's address rules.
 */
import { bindError, parseListen } from "../config/index.ts";
import type { Forwarder } from "./forwarder.ts";

export function serveForwarder(f: Forwarder, listen: string): { url: string; stop: () => void } {
  const addr = parseListen(listen, "listen (forward config)");
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: addr.hostname,
      port: addr.port,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/metrics") {
          f.status(); // brings the lag gauges up to now
          return new Response(await f.metrics.registry.metrics(), { headers: { "content-type": f.metrics.registry.contentType } });
        }
        if (path === "/readyz") {
          const stuck = f.stuck();
          if (stuck.length === 0) return new Response("ok\n");
          return new Response(stuck.map((s) => `sink ${s.sink} stuck: ${s.lagRecords} records behind, no progress for ${Math.round((Date.now() - s.progressAt) / 1000)} s`).join("\n") + "\n", { status: 503 });
        }
        return new Response("not found\n", { status: 404 });
      },
    });
  } catch (e) {
    throw bindError(e, addr);
  }
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return { url: `http://${host}:${server.port}`, stop: () => server.stop(true) };
}
