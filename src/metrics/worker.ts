/**
 * The metrics worker: a Bun Worker that owns the metrics port and answers /metrics, /healthz, /readyz and
 * /checkpoint from the snapshots the agent renders when asked (snapshot.ts), so scrape latency depends on what
 * the agent's thread is doing only when there is something new to show, and then for WAIT_MS at most. Only the
 * scrape-time series (process_*, the checkpoint age) are computed here, at each scrape. Started by published.ts;
 * never imports the agent, the kernel or native code.
 */
import { Registry } from "prom-client";
import { liveMetrics } from "./_live.ts";
import { NOT_FOUND, readiness } from "./ready.ts";
import { BIND_CODES, BIND_FAILED, BIND_OK, type Need, type Snapshot, type WorkerInit } from "./snapshot.ts";

declare const self: Worker;

/** The newest health and checkpoint note the agent sent (with any snapshot). */
let latest: Snapshot | undefined;
/** The newest exposition, encoded once, with the change counter it was rendered at and when it came. */
let rendered: { seq: number; gen: number; at: number; body: Uint8Array; contentType: string } | undefined;
let changes = new Int32Array(1);
const live = new Registry();
liveMetrics(live, () => latest?.checkpointSince ?? Date.now());
let server: ReturnType<typeof Bun.serve> | undefined;

const text = (t: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(t, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
const NO_STORE = { "Cache-Control": "no-store" };

/**
 * How long a scrape waits for the agent's render before it is answered from the last snapshot: the agent's
 * thread yields every millisecond or so while it reads the map, so this is reached only when it is blocked
 * (a long signature or sync), and then the answer is the previous snapshot, as it was before on-demand rendering.
 */
const WAIT_MS = 250;
/** A scrape during start-up, before any exposition: it waits this long for the first, then is told the agent is starting. */
const FIRST_SNAPSHOT_WAIT_MS = 5_000;
/** An unchanged exposition is reused this long at most: what changes between two publishes (a witness's counters) shows within it. */
const MAX_AGE_MS = 1_000;

/** The request to the agent in flight, per kind: concurrent scrapes share it; an answer with the metrics answers both. */
const asked: Partial<Record<Need, { done: Promise<void>; resolve: () => void }>> = {};

/** Asks the agent for a snapshot (once, if already asked) and waits for it, `waitMs` at most. */
async function ask(need: Need, waitMs: number): Promise<void> {
  let a = asked[need];
  if (!a) {
    let resolve!: () => void;
    const done = new Promise<void>((r) => { resolve = r; });
    asked[need] = a = { done, resolve };
    postMessage({ need });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => { timer = setTimeout(() => r(true), waitMs); });
  const timedOut = await Promise.race([a.done.then(() => false), late]);
  clearTimeout(timer);
  // Not answered in time (the agent's thread is blocked, or its render failed): the next scrape asks again.
  if (timedOut && asked[need] === a) asked[need] = undefined;
}

function answered(need: Need): void {
  const a = asked[need];
  asked[need] = undefined;
  a?.resolve();
}

const current = () => rendered !== undefined && rendered.gen === Atomics.load(changes, 0) && performance.now() - rendered.at < MAX_AGE_MS;

async function metrics(): Promise<Response> {
  // A scrape right after start is answered with the first snapshot, not an error: it is milliseconds away.
  if (!current()) await ask("metrics", rendered ? WAIT_MS : FIRST_SNAPSHOT_WAIT_MS);
  if (!rendered) return text("no metrics yet: the agent is starting\n", 503);
  return new Response(new Blob([rendered.body, await live.metrics()]), { headers: { "Content-Type": rendered.contentType } });
}

/** Health depends on time too (a witness's silence), so each /readyz asks for it. */
async function ready(): Promise<Response> {
  await ask("state", WAIT_MS);
  if (!latest) return Response.json({ ready: false, failed: ["starting"], checks: {} }, { status: 503, headers: NO_STORE });
  if (!latest.health) return Response.json({ ready: false, failed: ["health"], error: latest.healthError }, { status: 503, headers: NO_STORE });
  const r = readiness(latest.health);
  return Response.json(r.body, { status: r.status, headers: NO_STORE });
}

/** The note changes only with a checkpoint, which the agent publishes. */
async function checkpoint(): Promise<Response> {
  if (!latest || latest.gen !== Atomics.load(changes, 0)) await ask("state", WAIT_MS);
  const note = latest?.checkpoint;
  if (note === null || note === undefined || note === "") return text("no signed checkpoint yet\n", 404, NO_STORE);
  return text(note, 200, NO_STORE);
}

/**
 * The Worker's start-up garbage (its modules, the server), collected once, synchronously, as soon as the agent's
 * thread has its answer. Without it, that growth makes JavaScriptCore begin a collection of the Worker's heap, whose
 * concurrent marking advances only while the Worker runs, and an unscraped Worker runs only at the stop: under
 * BUN_JSC_logGC at 25 k pps that collection stayed open the whole run (14.9 s) and ended in the stop's server stop
 * (a 2.8 ms pause), and the Worker's teardown began a full collection after it. Collected here (about 2 ms of pauses
 * on the Worker's own thread, while the agent goes on starting), nothing of the Worker's heap is left for the stop.
 */
function collectBindGarbage(): void {
  Bun.gc(true);
}

function bind(init: WorkerInit): void {
  changes = new Int32Array(init.changes);
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
  if (server) collectBindGarbage();
}

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data as { init?: WorkerInit; snapshot?: Snapshot; stop?: true };
  if (m.init) bind(m.init);
  else if (m.snapshot) {
    const snap = m.snapshot;
    if (!latest || snap.seq > latest.seq) latest = { ...snap, exposition: undefined };
    if (snap.exposition !== undefined) {
      if (!rendered || snap.seq > rendered.seq) rendered = { seq: snap.seq, gen: snap.gen, at: performance.now(), body: new TextEncoder().encode(snap.exposition), contentType: snap.contentType! };
      answered("metrics");
    }
    answered("state");
  } else if (m.stop) {
    void (server?.stop(true) ?? Promise.resolve()).then(() => postMessage({ stopped: true }));
  }
};
