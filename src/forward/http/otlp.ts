/**
 * OTLP/HTTP logs (OpenTelemetry protocol, JSON encoding): POST <url>/v1/logs, one resource
 * per origin, one log record per line with the line verbatim as its body and seq, kind and
 * class as attributes. Per the specification, 429/502/503/504 are retryable (Retry-After
 * honoured), other 4xx are not, and a 200 may carry partialSuccess: records the collector
 * rejected, which OTLP says must not be retried, so the sink stops and says how many.
 */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

export function otlpSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.url !== "string" || !/^https?:\/\//.test(r.url)) throw new AtoError(`${at}: url (http://collector:4318) is required`, "CONFIG");
  const url = `${r.url.replace(/\/+$/, "")}/v1/logs`;
  const token = readSecret(at, r, "token");
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 10_000;

  return {
    name: s.name,
    type: "otlp",
    async send(events: ForwardEvent[]) {
      const byOrigin = new Map<string, ForwardEvent[]>();
      for (const e of events) (byOrigin.get(e.origin) ?? byOrigin.set(e.origin, []).get(e.origin)!).push(e);
      const body = {
        resourceLogs: [...byOrigin].map(([origin, es]) => ({
          resource: { attributes: [str("service.name", "ato"), str("ato.origin", origin)] },
          scopeLogs: [{ scope: { name: "ato.evidence" }, logRecords: es.map(record) }],
        })),
      };
      const headers: Record<string, string> = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token.reveal()}` } : {}) };
      const res = await post(url, { headers, body: JSON.stringify(body) }, timeoutMs);
      if (res.status === 502 || res.status === 504) throw new SinkError(`the OTLP collector answered ${res.status}`, "unreachable");
      const f = await failureOf(res, "the OTLP collector");
      if (f) throw f;
      const answer = (await res.json().catch(() => ({}))) as { partialSuccess?: { rejectedLogRecords?: number | string; errorMessage?: string } };
      const rejected = Number(answer.partialSuccess?.rejectedLogRecords ?? 0);
      if (rejected > 0) throw new SinkError(`the OTLP collector rejected ${rejected} of ${events.length} records (seq ${events[0]!.seq}–${events.at(-1)!.seq}): ${answer.partialSuccess?.errorMessage ?? ""}`, "rejected");
    },
    async close() {},
  };
}

function record(e: ForwardEvent) {
  const ns = `${BigInt(Date.parse(e.ts)) * 1_000_000n}`;
  return {
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    severityNumber: 9,
    severityText: "INFO",
    body: { stringValue: e.line },
    attributes: [{ key: "ato.seq", value: { intValue: String(e.seq) } }, str("ato.kind", e.kind), str("ato.class", e.class), str("ato.id", `${e.origin}/${e.seq}`)],
  };
}
