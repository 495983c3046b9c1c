/**
 * Elasticsearch / OpenSearch `_bulk`, from the published reference (neither runs here): NDJSON
 * of `{"create":{"_index":…,"_id":"<origin>/<seq>"}}` and the document, newline-terminated.
 * `create` with the idempotency key as _id makes a re-send harmless: an existing document
 * answers 409, which counts as delivered. A 200 may still hold per-item failures: items
 * refused with 429 (or 5xx) are sent again, alone, on the next attempt; an item the index
 * refuses for its content (400, a mapping error) ends the sink naming the seq and the reason.
 */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import { eventId, type ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

export function elasticSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.url !== "string" || !/^https?:\/\//.test(r.url)) throw new AtoError(`${at}: url (https://elastic:9200) is required`, "CONFIG");
  const index = typeof r.index === "string" ? r.index : "ato-evidence";
  const apiKey = readSecret(at, r, "api_key");
  const password = readSecret(at, r, "password");
  const user = typeof r.user === "string" ? r.user : undefined;
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 30_000;
  const url = `${r.url.replace(/\/+$/, "")}/_bulk`;
  const auth = (): Record<string, string> =>
    apiKey ? { authorization: `ApiKey ${apiKey.reveal()}` } : user ? { authorization: `Basic ${Buffer.from(`${user}:${password?.reveal() ?? ""}`).toString("base64")}` } : {};
  /** Items of the batch in flight that Elasticsearch already holds: not sent again on a retry. */
  const held = new Set<string>();

  return {
    name: s.name,
    type: "elasticsearch",
    async send(events: ForwardEvent[]) {
      const todo = events.filter((e) => !held.has(eventId(e)));
      if (todo.length === 0) return void held.clear();
      const body = todo.map((e) => `${JSON.stringify({ create: { _index: index, _id: eventId(e) } })}\n${JSON.stringify({ "@timestamp": e.ts, origin: e.origin, seq: e.seq, kind: e.kind, class: e.class, line: e.line })}\n`).join("");
      const res = await post(url, { headers: { ...auth(), "content-type": "application/x-ndjson" }, body }, timeoutMs);
      const f = await failureOf(res, "Elasticsearch _bulk");
      if (f) throw f;
      const answer = (await res.json()) as { errors?: boolean; items?: Record<string, BulkItem>[] };
      const items = (answer.items ?? []).map((i) => Object.values(i)[0]!);
      if (items.length !== todo.length) throw new SinkError(`Elasticsearch answered ${items.length} items for ${todo.length} sent`, "rejected");
      let retry: SinkError | undefined;
      items.forEach((item, i) => {
        const e = todo[i]!;
        if ((item.status >= 200 && item.status < 300) || item.status === 409) return void held.add(eventId(e));
        const why = `${item.error?.type ?? "error"}: ${item.error?.reason ?? ""}`.slice(0, 300);
        if (item.status === 429 || item.status >= 500) retry ??= new SinkError(`Elasticsearch refused seq ${e.seq} for now (${item.status} ${why})`, "throttled");
        else throw new SinkError(`Elasticsearch refused seq ${e.seq} (${item.status} ${why})`, item.status === 401 || item.status === 403 ? "refused" : "rejected");
      });
      if (retry) throw retry;
      held.clear();
    },
    async close() {},
  };
}
