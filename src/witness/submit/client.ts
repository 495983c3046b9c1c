/** One add-checkpoint call (c2sp.org/tlog-witness) over HTTP, with a time-out. Keep-alive is fetch's default. */
import { AtoError } from "../../errors.ts";

export interface WitnessReply {
  status: number;
  body: string;
  contentType: string;
}

export const REQUEST_TIMEOUT_MS = 10_000;

export async function postCheckpoint(url: string, body: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<WitnessReply> {
  try {
    const r = await fetch(`${url.replace(/\/+$/, "")}/add-checkpoint`, { method: "POST", body, signal: AbortSignal.timeout(timeoutMs), headers: { "Content-Type": "text/plain" } });
    const text = (await r.text()).slice(0, 64 << 10);
    return { status: r.status, body: text, contentType: r.headers.get("content-type") ?? "" };
  } catch (e) {
    const timeout = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    throw new AtoError(timeout ? `no answer from ${url} within ${timeoutMs} ms` : `cannot reach ${url}: ${(e as Error).message}`, "IO", { cause: e });
  }
}

/** The size in a 409 answer: one decimal line. */
export function conflictSize(reply: WitnessReply): number | undefined {
  const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(reply.body);
  return m && reply.contentType.startsWith("text/x.tlog.size") ? Number(m[1]) : undefined;
}
