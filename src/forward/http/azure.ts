/**
 * Azure Monitor Logs Ingestion API, from Microsoft's published reference (no Azure here):
 * an OAuth 2.0 client-credentials token (scope https://monitor.azure.com/.default) from the
 * Entra ID token endpoint, then POST <endpoint>/dataCollectionRules/<dcr id>/streams/<stream>
 * ?api-version=2023-01-01 with a JSON array of rows; 204 is success. A 401 fetches a new
 * token once before it counts as refused; the request limit (1 MB) answers 413 (split).
 */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

export function azureSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  for (const k of ["endpoint", "dcr_id", "stream", "tenant_id", "client_id"]) if (typeof r[k] !== "string") throw new AtoError(`${at}: ${k} is required`, "CONFIG");
  const secret = readSecret(at, r, "client_secret");
  if (!secret) throw new AtoError(`${at}: client_secret_env or client_secret_file is required`, "CONFIG");
  const tokenUrl = typeof r.token_url === "string" ? r.token_url : `https://login.microsoftonline.com/${r.tenant_id}/oauth2/v2.0/token`;
  const url = `${(r.endpoint as string).replace(/\/+$/, "")}/dataCollectionRules/${r.dcr_id}/streams/${r.stream}?api-version=2023-01-01`;
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 30_000;
  let token: { value: string; until: number } | undefined;

  async function bearer(): Promise<string> {
    if (token && Date.now() < token.until) return token.value;
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: r.client_id as string, client_secret: secret!.reveal(), scope: "https://monitor.azure.com/.default" });
    const res = await post(tokenUrl, { headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }, timeoutMs);
    const f = await failureOf(res, "the Entra ID token endpoint");
    if (f) throw f.failure === "rejected" ? new SinkError(`${f.message} (check tenant_id, client_id and the client secret)`, "refused") : f;
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new SinkError("the token endpoint answered without an access_token", "refused");
    token = { value: body.access_token, until: Date.now() + Math.max(60, (body.expires_in ?? 3600) - 300) * 1000 };
    return token.value;
  }

  return {
    name: s.name,
    type: "azure-monitor",
    async send(events: ForwardEvent[]) {
      const rows = JSON.stringify(events.map((e) => ({ TimeGenerated: e.ts, Origin: e.origin, Seq: e.seq, Kind: e.kind, Class: e.class, Line: e.line })));
      for (let attempt = 0; ; attempt++) {
        const res = await post(url, { headers: { authorization: `Bearer ${await bearer()}`, "content-type": "application/json" }, body: rows }, timeoutMs);
        if (res.status === 401 && attempt === 0) {
          token = undefined; // expired or revoked: one fresh token, then it is a refusal
          continue;
        }
        const f = await failureOf(res, "Azure Monitor");
        if (f) throw f;
        return;
      }
    },
    async close() {},
  };
}
