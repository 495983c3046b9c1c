/**
 * createPublishedServer(): the agent's metrics server, served by a Bun Worker (worker.ts) from snapshots the
 * agent publishes, instead of on the agent's own thread. A collector cycle, a checkpoint's signing or a GC on
 * the agent's thread then delays no scrape: the worker answers from the last snapshot, rendered once.
 *
 * The agent publishes after each cycle and checkpoint (publish()), and a timer publishes at least once a
 * second while the agent's thread is free, so health changes between cycles show too. Values are at most one
 * publish old; the scrape-time series (process_*, checkpoint age) are exact to the scrape. Counters stay
 * monotonic: snapshots carry a sequence number and the worker never takes an older one.
 *
 * Binding happens before this returns (the agent's thread waits on the worker's answer), so a busy port is
 * still an AtoError("BUSY") at start-up.
 */
import { AtoError } from "../errors.ts";
import type { Health } from "./app.ts";
import { bindError, DEFAULT_LISTEN, parseListen } from "./listen.ts";
import type { AtoMetrics } from "./metrics.ts";
import type { MetricsServer } from "./server.ts";
import { BIND_CODES, BIND_OK, BIND_PENDING, STATE_BYTES, type Snapshot } from "./snapshot.ts";

export interface PublishedOptions {
  /** Made with createMetrics({ liveElsewhere: true }): the worker renders the scrape-time series. */
  metrics: Pick<AtoMetrics, "registry" | "checkpointSince">;
  health: () => Health;
  checkpoint: () => string | null;
  listen?: string;
  /** What the worker reported as broken (its own bug): logged by the agent. */
  onError?: (message: string) => void;
}

export interface PublishedServer extends MetricsServer {
  /** Renders the registry and hands it to the worker; the next scrapes answer from it. */
  publish(): Promise<void>;
}

/** How long start-up waits for the worker to bind (a loaded host starts a worker in ~10–50 ms). */
const BIND_WAIT_MS = 10_000;
const REFRESH_MS = 1000;

/**
 * The worker's module: beside this file when run from source; in the compiled binary (scripts/build.sh gives
 * src/metrics/worker.ts as a second entry point), under the bundle's root, which is src/, while
 * import.meta.url there names the binary itself.
 */
function workerUrl(): string {
  const compiled = import.meta.path.includes("$bunfs");
  return new URL(compiled ? "./metrics/worker.ts" : "./worker.ts", import.meta.url).href;
}

export function createPublishedServer(o: PublishedOptions): PublishedServer {
  const addr = parseListen(o.listen ?? DEFAULT_LISTEN);
  const worker = new Worker(workerUrl());
  worker.onerror = (e) => o.onError?.(`metrics worker: ${e.message}`);
  (worker as unknown as { unref(): void }).unref(); // the agent's own timers keep the process alive, never the worker
  const state = new SharedArrayBuffer(STATE_BYTES);
  const st = new Int32Array(state, 0, 4);
  worker.postMessage({ init: { hostname: addr.hostname, port: addr.port, state } });
  if (Atomics.wait(st, 0, BIND_PENDING, BIND_WAIT_MS) === "timed-out") {
    worker.terminate();
    throw new AtoError(`the metrics worker (${workerUrl()}) did not bind ${addr.text} within ${BIND_WAIT_MS / 1000} s`, "IO");
  }
  if (Atomics.load(st, 0) !== BIND_OK) {
    const message = new TextDecoder().decode(new Uint8Array(state, 16, st[3]!));
    worker.terminate();
    throw bindError(Object.assign(new Error(message), { code: BIND_CODES[st[2]!] || undefined }), addr);
  }
  const port = st[1]!;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;

  let seq = 0;
  let lastPublish = 0;
  const render = async (): Promise<void> => {
    const n = ++seq;
    lastPublish = performance.now();
    let health: Health | undefined, healthError: string | undefined;
    try {
      health = o.health();
    } catch (e) {
      healthError = e instanceof Error ? e.message : String(e); // /readyz says so, as the in-process app does
    }
    const snapshot: Snapshot = {
      seq: n, exposition: await o.metrics.registry.metrics(), contentType: o.metrics.registry.contentType,
      health, healthError, checkpoint: o.checkpoint(), checkpointSince: o.metrics.checkpointSince(),
    };
    worker.postMessage({ snapshot });
  };
  // A render that fails is the registry's bug: reported, and the worker keeps the last good snapshot.
  const publish = () => render().catch((e: unknown) => o.onError?.(`metrics: ${e instanceof Error ? e.message : String(e)}`));
  const timer = setInterval(() => { if (performance.now() - lastPublish >= REFRESH_MS) void publish(); }, REFRESH_MS);
  timer.unref();
  void publish();

  return {
    port, hostname: addr.hostname, url: `http://${host}:${port}`, publish,
    stop: async () => {
      clearInterval(timer);
      const stopped = new Promise<void>((resolve) => {
        worker.onmessage = (e) => { if ((e.data as { stopped?: boolean }).stopped) resolve(); };
        setTimeout(resolve, 2000).unref(); // a wedged worker is terminated anyway
      });
      worker.postMessage({ stop: true });
      await stopped;
      worker.terminate();
    },
  };
}
