/**
 * What the agent publishes to the metrics worker (published.ts → worker.ts): the exposition rendered once,
 * the health and the latest checkpoint note as they were then. The worker answers every scrape from the last
 * one it got, so a scrape never waits for the agent's thread (a collector cycle, a checkpoint's signing, a GC).
 */
import type { Health } from "./app.ts";

export interface Snapshot {
  /** Increases with every render: a render that finished late never replaces a newer one. */
  seq: number;
  /** The agent's registry in the Prometheus text format, without the scrape-time series (_live.ts). */
  exposition: string;
  contentType: string;
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
}

export const BIND_PENDING = 0, BIND_OK = 1, BIND_FAILED = 2;
/** errno names a bind error maps to (bindError in src/config/listen.ts); index 0: anything else. */
export const BIND_CODES = ["", "EADDRINUSE", "EACCES", "EADDRNOTAVAIL"] as const;
export const STATE_BYTES = 16 + 1024;
