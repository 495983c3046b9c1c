/**
 * The witness over HTTP (Bun.serve):
 *   POST /add-checkpoint   c2sp.org/tlog-witness; the body is read up to MAX_BODY bytes (413 past it)
 *   GET  /metrics          its own Prometheus metrics
 *   GET  /healthz          200 while it runs
 * Idle connections and slow bodies are cut after the time-out.
 */
import { bindError, parseListen } from "../config/index.ts";
import type { WitnessMetrics } from "./metrics.ts";
import type { Witness } from "./witness.ts";

/** A note with 16 post-quantum signatures and 63 proof lines fits in well under this. */
export const MAX_BODY = 128 << 10;
export const BODY_TIMEOUT_MS = 10_000;

export interface WitnessServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface ServeOptions {
  onLog?: (m: string) => void;
  /** How long a request body may take to arrive; default BODY_TIMEOUT_MS. */
  bodyTimeoutMs?: number;
}

export function serveWitness(witness: Witness, metrics: WitnessMetrics, listen: string, o: ServeOptions = {}): WitnessServer {
  const onLog = o.onLog ?? (() => {});
  const bodyTimeoutMs = o.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const addr = parseListen(listen);
  const text = (status: number, body: string, type = "text/plain; charset=utf-8") => new Response(body, { status, headers: { "Content-Type": type } });
  const fetch = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics" && req.method === "GET") return new Response(await metrics.registry.metrics(), { headers: { "Content-Type": metrics.registry.contentType } });
    if (path === "/healthz" && req.method === "GET") return text(200, "ok\n");
    if (path !== "/add-checkpoint") return text(404, "not found: POST /add-checkpoint, GET /metrics, GET /healthz\n");
    if (req.method !== "POST") {
      metrics.refusals.inc({ reason: "method" });
      return new Response("use POST\n", { status: 405, headers: { Allow: "POST" } });
    }
    const body = await readBody(req, bodyTimeoutMs);
    if (typeof body === "number") {
      const [reason, why] = BODY_REFUSALS[body];
      metrics.refusals.inc({ reason });
      return text(body, why);
    }
    const a = await witness.addCheckpoint(body);
    if (a.status === 200) {
      metrics.cosignatures.inc();
      return text(200, a.body);
    }
    metrics.refusals.inc({ reason: a.reason });
    onLog(`refused (${a.status} ${a.reason}): ${a.message}`);
    return text(a.status, a.body, a.contentType);
  };
  let server;
  try {
    server = Bun.serve({
      hostname: addr.hostname, port: addr.port, fetch, idleTimeout: Math.max(1, Math.ceil((bodyTimeoutMs * 2) / 1000)), maxRequestBodySize: MAX_BODY * 2,
      error: (e) => {
        metrics.refusals.inc({ reason: "internal" });
        onLog(`internal error: ${e instanceof Error ? e.message : String(e)}`);
        return new Response("internal error\n", { status: 500 });
      },
    });
  } catch (e) {
    throw bindError(e, addr);
  }
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const port = server.port ?? addr.port;
  return { url: `http://${host}:${port}`, port, stop: () => server.stop(true) };
}

const BODY_REFUSALS = {
  413: ["too_large", `the body is larger than ${MAX_BODY} bytes\n`],
  408: ["timeout", "the body did not arrive in time\n"],
  400: ["malformed", "the body is not UTF-8\n"],
} as const;

/** The body as UTF-8 text, or 413 past MAX_BODY, 408 when it takes longer than the time-out, 400 when not UTF-8. */
async function readBody(req: Request, timeoutMs: number): Promise<string | 413 | 408 | 400> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY) return 413;
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([reader.read(), new Promise<"timeout">((res) => { timer = setTimeout(() => res("timeout"), Math.max(left, 0)); })]);
    clearTimeout(timer);
    if (r === "timeout") {
      void reader.cancel().catch(() => undefined);
      return 408;
    }
    if (r.done) break;
    total += r.value.length;
    if (total > MAX_BODY) {
      void reader.cancel().catch(() => undefined);
      return 413;
    }
    chunks.push(r.value);
  }
  const bytes = Buffer.concat(chunks);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return 400; // signed notes are UTF-8 (c2sp.org/signed-note)
  }
}

