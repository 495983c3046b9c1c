/**
 * What the agent renders for the metrics worker when it asks (published.ts → worker.ts): the health and the latest
 * checkpoint note as they were then and, when the worker asked for the metrics, the exposition rendered once. The
 * worker answers scrapes from the last one it got while that is current, so a scrape waits for the agent's thread
 * (a collector cycle, a checkpoint's signing, a GC) only when something changed, and only briefly.
 */
import type { Health } from "./app.ts";

/** What the worker asks the agent for: the whole snapshot, or only the health and the checkpoint (cheap, no render). */
export type Need = "metrics" | "state";

export interface Snapshot {
  /** Increases with every render: a render that finished late never replaces a newer one. */
  seq: number;
  /** The agent's change counter (WorkerInit.changes) when the render began. */
  gen: number;
  /** The agent's registry in the Prometheus text format, without the scrape-time series (_live.ts); only when asked. */
  exposition?: string;
  contentType?: string;
  /** undefined when the health callback threw: then healthError says why. */
  health?: Health;
  healthError?: string;
  checkpoint: string | null;
  /** ms since the epoch that ato_checkpoint_age_seconds counts from. */
  checkpointSince: number;
}

/** The first message to the worker: where to listen, and where to say how the bind went (the agent waits on it). */
export interface WorkerInit {
  hostname: string;
  port: number;
  /** Int32Array view: [0] state (BIND_*), [1] bound port, [2] error code (BIND_CODES index), [3] message length; bytes from 16: the message. */
  state: SharedArrayBuffer;
  /** Int32Array view, [0]: how many times the agent's values changed (its publish()); read by the worker at each scrape. */
  changes: SharedArrayBuffer;
}

export const BIND_PENDING = 0, BIND_OK = 1, BIND_FAILED = 2;
/** errno names a bind error maps to (bindError in src/config/listen.ts); index 0: anything else. */
export const BIND_CODES = ["", "EADDRINUSE", "EACCES", "EADDRNOTAVAIL"] as const;
export const STATE_BYTES = 16 + 1024;
