/**
 * The metrics worker: a Bun Worker that owns the metrics port and answers /metrics, /healthz, /readyz and
 * /checkpoint from the last snapshot the agent published (snapshot.ts), so scrape latency does not depend on
 * what the agent's thread is doing. Only the scrape-time series (process_*, the checkpoint age) are computed
 * here, at each scrape. Started by published.ts; never imports the agent, the kernel or native code.
 */
import { Registry } from "prom-client";
import { liveMetrics } from "./_live.ts";
import { NOT_FOUND, readiness } from "./ready.ts";
import { BIND_CODES, BIND_FAILED, BIND_OK, type Snapshot, type WorkerInit } from "./snapshot.ts";

declare const self: Worker;

let last: Snapshot | undefined;
let body = new Uint8Array(0);
const live = new Registry();
liveMetrics(live, () => last?.checkpointSince ?? Date.now());
let server: ReturnType<typeof Bun.serve> | undefined;

const text = (t: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(t, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
const NO_STORE = { "Cache-Control": "no-store" };

/** Scrapes that came before the first snapshot (the agent binds before its first render lands). */
let waiting: (() => void)[] = [];
/** How long a scrape during start-up waits for the first snapshot before it is told the agent is starting. */
const FIRST_SNAPSHOT_WAIT_MS = 5_000;

async function metrics(): Promise<Response> {
  // A scrape right after start is answered with the first snapshot, not an error: it is milliseconds away.
  if (!last) await new Promise<void>((resolve) => { waiting.push(resolve); setTimeout(resolve, FIRST_SNAPSHOT_WAIT_MS); });
  if (!last) return text("no metrics yet: the agent is starting\n", 503);
  return new Response(new Blob([body, await live.metrics()]), { headers: { "Content-Type": last.contentType } });
}

function ready(): Response {
  if (!last) return Response.json({ ready: false, failed: ["starting"], checks: {} }, { status: 503, headers: NO_STORE });
  if (!last.health) return Response.json({ ready: false, failed: ["health"], error: last.healthError }, { status: 503, headers: NO_STORE });
  const r = readiness(last.health);
  return Response.json(r.body, { status: r.status, headers: NO_STORE });
}

function checkpoint(): Response {
  const note = last?.checkpoint;
  if (note === null || note === undefined || note === "") return text("no signed checkpoint yet\n", 404, NO_STORE);
  return text(note, 200, NO_STORE);
}

function bind(init: WorkerInit): void {
  const state = new Int32Array(init.state, 0, 4);
  try {
    server = Bun.serve({
      hostname: init.hostname, port: init.port, reusePort: false,
      routes: { "/metrics": metrics, "/healthz": () => text("ok\n"), "/readyz": ready, "/checkpoint": checkpoint },
      fetch: () => text(NOT_FOUND, 404),
      error: () => text("internal error\n", 500),
    });
    state[1] = server.port ?? init.port;
    Atomics.store(state, 0, BIND_OK);
  } catch (e) {
    const code = BIND_CODES.indexOf((e as { code?: string } | null)?.code as (typeof BIND_CODES)[number]);
    const msg = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, init.state.byteLength - 16);
    new Uint8Array(init.state, 16).set(msg);
    state[2] = Math.max(code, 0);
    state[3] = msg.length;
    Atomics.store(state, 0, BIND_FAILED);
  }
  Atomics.notify(state, 0);
}

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data as { init?: WorkerInit; snapshot?: Snapshot; stop?: true };
  if (m.init) bind(m.init);
  else if (m.snapshot) {
    if (last && m.snapshot.seq <= last.seq) return;
    last = m.snapshot;
    body = new TextEncoder().encode(last.exposition);
    const woken = waiting;
    waiting = [];
    for (const w of woken) w();
  } else if (m.stop) {
    void (server?.stop(true) ?? Promise.resolve()).then(() => postMessage({ stopped: true }));
  }
};
