/**
 * Grafana Loki push (POST <url>/loki/api/v1/push, JSON): one stream per origin, kind and
 * class, the only labels (low cardinality: never the seq or flow fields, which stay in the
 * line itself). Loki drops an entry identical in stream, timestamp and line to one it holds,
 * so a re-send is harmless. 204 is success; 429 and 5xx are retried.
 */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import type { Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

export function lokiSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.url !== "string" || !/^https?:\/\//.test(r.url)) throw new AtoError(`${at}: url (http://loki:3100) is required`, "CONFIG");
  const url = `${r.url.replace(/\/+$/, "")}/loki/api/v1/push`;
  const token = readSecret(at, r, "token");
  const tenant = typeof r.tenant === "string" ? r.tenant : undefined;
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 10_000;

  return {
    name: s.name,
    type: "loki",
    async send(events: ForwardEvent[]) {
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const e of events) {
        const key = `${e.origin}\n${e.kind}\n${e.class}`;
        let st = streams.get(key);
        if (!st) streams.set(key, (st = { stream: { job: "ato", origin: e.origin, kind: e.kind, class: e.class }, values: [] }));
        st.values.push([`${BigInt(Date.parse(e.ts)) * 1_000_000n}`, e.line]);
      }
      const headers: Record<string, string> = {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token.reveal()}` } : {}),
        ...(tenant ? { "x-scope-orgid": tenant } : {}),
      };
      const res = await post(url, { headers, body: JSON.stringify({ streams: [...streams.values()] }) }, timeoutMs);
      const f = await failureOf(res, "Loki");
      if (f) throw f;
    },
    async close() {},
  };
}
