/**
 * The HTTP surface of a running agent, as a Hono app (no sockets here; server.ts serves it):
 *   GET /metrics     Prometheus text format
 *   GET /healthz     200 "ok" while the process runs (liveness)
 *   GET /readyz      200 when attached, HSM reachable, log writable and (with witnesses) none silent past its
 *                    limit; else 503 naming what failed (readiness)
 *   GET /checkpoint  the latest signed checkpoint note, text/plain; 404 before the first one
 */
import { Hono } from "hono";
import type { AtoMetrics } from "./metrics.ts";
import { NOT_FOUND, readiness } from "./ready.ts";

export interface Health {
  /** The XDP program is attached to every configured interface. */
  attached: boolean;
  /** The PKCS#11 token answered (the last signature, or a probe, succeeded). */
  hsm: boolean;
  /** The evidence log accepted the last write and sync. */
  logWritable: boolean;
  /** Every witness cosigned within its silence limit; undefined when the agent has no witnesses (no check). */
  witnesses?: boolean;
  /** Short reasons shown with a 503 (never secrets, addresses or key material). */
  details?: Record<string, string>;
}

export interface AppOptions {
  metrics: Pick<AtoMetrics, "registry">;
  health: () => Health | Promise<Health>;
  /** The latest signed checkpoint note, or null before the first. */
  checkpoint: () => string | null | Promise<string | null>;
}

export function createApp({ metrics, health, checkpoint }: AppOptions): Hono {
  const app = new Hono();
  const { registry } = metrics;

  app.get("/metrics", async (c) => c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }));

  app.get("/healthz", (c) => c.text("ok\n"));

  app.get("/readyz", async (c) => {
    c.header("Cache-Control", "no-store");
    let h: Health;
    try {
      h = await health();
    } catch (e) {
      return c.json({ ready: false, failed: ["health"], error: e instanceof Error ? e.message : String(e) }, 503);
    }
    const r = readiness(h);
    return c.json(r.body, r.status);
  });

  app.get("/checkpoint", async (c) => {
    c.header("Cache-Control", "no-store");
    const note = await checkpoint();
    if (note === null || note === "") return c.text("no signed checkpoint yet\n", 404);
    return c.text(note);
  });

  app.notFound((c) => c.text(NOT_FOUND, 404));
  return app;
}
