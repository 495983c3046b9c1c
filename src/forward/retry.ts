/**
 * Exponential backoff with full jitter (a random wait between 0 and min(max, base·2^n)), so
 * a fleet of forwarders that lost the same server does not come back in step; a server's
 * Retry-After is a floor, never shortened.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, maxMs: 30_000 };

export function backoffMs(attempt: number, p: RetryPolicy, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.max(p.baseMs / 2, random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** Sleeps, waking early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
