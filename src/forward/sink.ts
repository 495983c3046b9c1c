/**
 * What a sink is to the forwarder: something that takes a batch of events and resolves once
 * the far side has acknowledged all of them (or, for a transport without acknowledgements,
 * once they are handed to the kernel: said per sink). A failure is a SinkError saying whether
 * to retry, when, and whether the batch was refused as too large (then it is split).
 */
import type { ForwardEvent } from "./event.ts";

export interface Sink {
  readonly name: string;
  readonly type: string;
  /**
   * How many batches may be in flight at once (default 1). Over 1 only for a sink that
   * matches each acknowledgement to its message and keeps the order of what it was given.
   */
  readonly window?: number;
  send(events: ForwardEvent[]): Promise<void>;
  close(): Promise<void>;
}

export type SinkFailure =
  | "unreachable" // connection refused, reset, timed out: retried
  | "throttled" // 429, 503, JetStream without a leader: retried, honouring Retry-After
  | "too-large" // 413 or the server's payload limit: the batch is split
  | "refused" // 401, 403, a refused certificate, a name mismatch: not retried
  | "rejected"; // the server says the data itself is bad: not retried

export class SinkError extends Error {
  constructor(
    message: string,
    readonly failure: SinkFailure,
    readonly options: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "SinkError";
  }

  get retryable(): boolean {
    return this.failure === "unreachable" || this.failure === "throttled";
  }
}

/** Retry-After: seconds, or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
