/**
 * createPublishedServer(): the agent's metrics server, served by a Bun Worker (worker.ts) from snapshots the
 * agent renders, instead of on the agent's own thread. A collector cycle, a checkpoint's signing or a GC on the
 * agent's thread then holds a scrape up at most a short, bounded wait (worker.ts): the worker answers from the
 * last snapshot.
 *
 * Rendering is on demand: the agent renders only when the worker asks, because a scrape came and what it holds
 * is out of date, so an agent nobody scrapes renders nothing (the render, the copy to the worker and the
 * worker's wake-up cost ~1 ms of CPU a second that nobody read). publish() only says "the values changed" (after
 * each cycle and checkpoint): a counter in shared memory, no message. The worker reuses its last exposition while
 * that counter has not moved and it is under a second old (what other parts, a witness's answer, count between
 * two cycles shows within a second, as before); otherwise the scrape waits for a fresh render. /readyz asks for
 * the health each time (a witness's silence grows with time alone), /checkpoint when the counter moved. The
 * scrape-time series (process_*, checkpoint age) are exact to the scrape. Counters stay monotonic: snapshots
 * carry a sequence number and the worker never takes an older one.
 *
 * Binding happens before this returns (the agent's thread waits on the worker's answer), so a busy port is
 * still an AtoError("BUSY") at start-up.
 */
import { AtoError } from "../errors.ts";
import type { Health } from "./app.ts";
import { bindError, DEFAULT_LISTEN, parseListen } from "./listen.ts";
import type { AtoMetrics } from "./metrics.ts";
import type { MetricsServer } from "./server.ts";
import { BIND_CODES, BIND_OK, BIND_PENDING, STATE_BYTES, type Need, type Snapshot } from "./snapshot.ts";

export interface PublishedOptions {
  /** Made with createMetrics({ liveElsewhere: true }): the worker renders the scrape-time series. */
  metrics: Pick<AtoMetrics, "registry" | "checkpointSince">;
  health: () => Health;
  checkpoint: () => string | null;
  listen?: string;
  /** Brings values mirrored from elsewhere (the kernel's, the log's counters) up to date just before a render. */
  refresh?: () => void;
  /** What the worker reported as broken (its own bug): logged by the agent. */
  onError?: (message: string) => void;
}

export interface PublishedServer extends MetricsServer {
  /** The values changed (a cycle, a checkpoint, the attach or the stop): the next scrape renders them. */
  publish(): Promise<void>;
  /** Snapshots rendered so far, by what the worker asked for (for tests and benches: nothing is rendered unasked). */
  readonly renders: { metrics: number; state: number };
}

/** How long start-up waits for the worker to bind (a loaded host starts a worker in ~10–50 ms). */
const BIND_WAIT_MS = 10_000;

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
  // [0]: how many times the agent's values changed (publish()); the worker compares it with its snapshot's.
  const changes = new Int32Array(new SharedArrayBuffer(4));
  worker.postMessage({ init: { hostname: addr.hostname, port: addr.port, state, changes: changes.buffer } });
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
  const renders = { metrics: 0, state: 0 };
  const render = async (need: Need): Promise<void> => {
    const n = ++seq;
    renders[need]++;
    const gen = Atomics.load(changes, 0); // read first: a change during the render makes the next scrape render again
    let health: Health | undefined, healthError: string | undefined;
    try {
      health = o.health();
    } catch (e) {
      healthError = e instanceof Error ? e.message : String(e); // /readyz says so, as the in-process app does
    }
    const snapshot: Snapshot = {
      seq: n, gen, health, healthError, checkpoint: o.checkpoint(), checkpointSince: o.metrics.checkpointSince(),
    };
    if (need === "metrics") {
      o.refresh?.();
      snapshot.exposition = await o.metrics.registry.metrics();
      snapshot.contentType = o.metrics.registry.contentType;
    }
    worker.postMessage({ snapshot });
  };
  // A render that fails is the registry's bug: reported, and the worker keeps the last good snapshot.
  const answer = (need: Need) => render(need).catch((e: unknown) => o.onError?.(`metrics: ${e instanceof Error ? e.message : String(e)}`));
  let stopped: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { need?: Need; stopped?: boolean };
    if (m.need === "metrics" || m.need === "state") void answer(m.need);
    else if (m.stopped) stopped?.();
  };

  return {
    port, hostname: addr.hostname, url: `http://${host}:${port}`, renders,
    publish: () => {
      Atomics.add(changes, 0, 1);
      return Promise.resolve();
    },
    stop: async () => {
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
        setTimeout(resolve, 2000).unref(); // a wedged worker is terminated anyway
      });
      worker.postMessage({ stop: true });
      await done;
      worker.terminate();
    },
  };
}
