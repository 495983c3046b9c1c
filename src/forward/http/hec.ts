/**
 * Splunk HTTP Event Collector, from Splunk's published reference (no Splunk runs here):
 * POST /services/collector/event with `Authorization: Splunk <token>`, a body of concatenated
 * JSON event objects ({time, host, source, sourcetype, index?, event, fields}). With indexer
 * acknowledgement on, every request names a channel (X-Splunk-Request-Channel) and the
 * answer's ackId is polled at /services/collector/ack until Splunk says it is indexed: only
 * then is the batch delivered.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

export function hecSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.url !== "string" || !/^https?:\/\//.test(r.url)) throw new AtoError(`${at}: url (https://splunk:8088) is required`, "CONFIG");
  const base = r.url.replace(/\/+$/, "");
  const token = readSecret(at, r, "token");
  if (!token) throw new AtoError(`${at}: a HEC token is required (token_env or token_file)`, "CONFIG");
  const acks = r.indexer_ack === true;
  const channel = acks ? (typeof r.channel === "string" ? r.channel : randomUUID()) : undefined;
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 10_000;
  const ackTimeoutMs = typeof r.ack_timeout_ms === "number" ? r.ack_timeout_ms : 60_000;
  const host = typeof r.host === "string" ? r.host : hostname();
  const meta = { sourcetype: typeof r.sourcetype === "string" ? r.sourcetype : "ato:evidence", ...(typeof r.index === "string" ? { index: r.index } : {}) };
  const headers = (): Record<string, string> => ({
    authorization: `Splunk ${token.reveal()}`,
    "content-type": "application/json",
    ...(channel ? { "x-splunk-request-channel": channel } : {}),
  });

  async function waitIndexed(ackId: number): Promise<void> {
    const end = Date.now() + ackTimeoutMs;
    for (let wait = 100; Date.now() < end; wait = Math.min(wait * 2, 2000)) {
      const res = await post(`${base}/services/collector/ack`, { headers: headers(), body: JSON.stringify({ acks: [ackId] }) }, timeoutMs);
      const f = await failureOf(res, "Splunk HEC ack");
      if (f) throw f;
      const body = (await res.json()) as { acks?: Record<string, boolean> };
      if (body.acks?.[String(ackId)] === true) return;
      await Bun.sleep(wait);
    }
    throw new SinkError(`Splunk did not confirm ackId ${ackId} within ${ackTimeoutMs} ms; sending the batch again`, "unreachable");
  }

  return {
    name: s.name,
    type: "splunk-hec",
    async send(events: ForwardEvent[]) {
      const body = events.map((e) => JSON.stringify({ time: Date.parse(e.ts) / 1000, host, source: e.origin, ...meta, event: { origin: e.origin, seq: e.seq, kind: e.kind, class: e.class, line: e.line }, fields: { origin: e.origin, seq: e.seq, kind: e.kind, class: e.class } })).join("\n");
      const res = await post(`${base}/services/collector/event`, { headers: headers(), body }, timeoutMs);
      const f = await failureOf(res, "Splunk HEC");
      if (f) throw f;
      if (!acks) return;
      const answer = (await res.json().catch(() => ({}))) as { ackId?: number };
      if (typeof answer.ackId !== "number") throw new SinkError("Splunk HEC gave no ackId though indexer_ack is on (is acknowledgement enabled for the token?)", "rejected");
      await waitIndexed(answer.ackId);
    },
    async close() {},
  };
}
