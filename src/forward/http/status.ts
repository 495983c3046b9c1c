/**
 * What an HTTP answer means to the forwarder, the same for every HTTP sink: 2xx delivered;
 * 413 too large (split); 429 and 503 throttled, honouring Retry-After; other 5xx and network
 * errors retried; 401 and 403 refused (a credential problem, never retried); other 4xx
 * rejected. The body is quoted (shortened) so the cause is visible; request headers, where
 * the token is, never are.
 */
import { parseRetryAfter, SinkError } from "../sink.ts";

export async function post(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, method: "POST", signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const why = (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    throw new SinkError(`cannot reach ${new URL(url).origin}: ${why}`, "unreachable", { cause: e });
  }
}

export async function failureOf(r: Response, what: string): Promise<SinkError | undefined> {
  if (r.ok) return undefined;
  const body = (await r.text().catch(() => "")).slice(0, 300).replace(/\s+/g, " ");
  const msg = `${what} answered ${r.status}${body ? `: ${body}` : ""}`;
  if (r.status === 413) return new SinkError(msg, "too-large");
  if (r.status === 429 || r.status === 503) return new SinkError(msg, "throttled", { retryAfterMs: parseRetryAfter(r.headers.get("retry-after")) });
  if (r.status >= 500 || r.status === 408) return new SinkError(msg, "unreachable");
  if (r.status === 401 || r.status === 403) return new SinkError(`${msg} (check the token)`, "refused");
  return new SinkError(msg, "rejected");
}
