/**
 * Google SecOps (Chronicle) ingestion API, from Google's published reference (no Google
 * here): a service account's key file signs a JWT (RS256) exchanged at its token_uri for an
 * access token (scope malachite-ingestion), then POST <url>/v2/unstructuredlogentries:batchCreate
 * with { customer_id, log_type, entries: [{ log_text, ts_epoch_microseconds }] }: the line
 * verbatim as log_text. The key file is read from its path and never printed.
 */
import { createSign } from "node:crypto";
import { readFileSync } from "node:fs";
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { Secret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

const SCOPE = "https://www.googleapis.com/auth/malachite-ingestion";
const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

interface ServiceAccount {
  email: string;
  key: Secret;
  tokenUri: string;
}

export function secOpsSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.customer_id !== "string" || typeof r.credentials_file !== "string") throw new AtoError(`${at}: customer_id and credentials_file (the service account's key file) are required`, "CONFIG");
  const account = readAccount(at, r.credentials_file);
  const url = `${(typeof r.url === "string" ? r.url : "https://malachiteingestion-pa.googleapis.com").replace(/\/+$/, "")}/v2/unstructuredlogentries:batchCreate`;
  const logType = typeof r.log_type === "string" ? r.log_type : "ATO_EVIDENCE";
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 30_000;
  let token: { value: string; until: number } | undefined;

  async function bearer(): Promise<string> {
    if (token && Date.now() < token.until) return token.value;
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64url(JSON.stringify({ iss: account.email, scope: SCOPE, aud: account.tokenUri, iat: now, exp: now + 3600 }))}`;
    const sig = createSign("RSA-SHA256").update(unsigned).sign(account.key.reveal());
    const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: `${unsigned}.${b64url(sig)}` });
    const res = await post(account.tokenUri, { headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }, timeoutMs);
    const f = await failureOf(res, "Google's token endpoint");
    if (f) throw f.failure === "rejected" ? new SinkError(`${f.message} (check the service account key)`, "refused") : f;
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new SinkError("Google's token endpoint answered without an access_token", "refused");
    token = { value: body.access_token, until: Date.now() + Math.max(60, (body.expires_in ?? 3600) - 300) * 1000 };
    return token.value;
  }

  return {
    name: s.name,
    type: "google-secops",
    async send(events: ForwardEvent[]) {
      const body = JSON.stringify({ customer_id: r.customer_id, log_type: logType, entries: events.map((e) => ({ log_text: e.line, ts_epoch_microseconds: String(Date.parse(e.ts) * 1000) })) });
      for (let attempt = 0; ; attempt++) {
        const res = await post(url, { headers: { authorization: `Bearer ${await bearer()}`, "content-type": "application/json" }, body }, timeoutMs);
        if (res.status === 401 && attempt === 0) {
          token = undefined;
          continue;
        }
        const f = await failureOf(res, "Google SecOps");
        if (f) throw f;
        return;
      }
    },
    async close() {},
  };
}

function readAccount(at: string, path: string): ServiceAccount {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new AtoError(`${at}: cannot read the service account key file ${path}: ${(e as NodeJS.ErrnoException).code ?? "not JSON"}`, "CONFIG", { cause: e });
  }
  if (typeof o.client_email !== "string" || typeof o.private_key !== "string") throw new AtoError(`${at}: ${path} is not a service account key file (client_email, private_key)`, "CONFIG");
  return { email: o.client_email, key: new Secret(o.private_key), tokenUri: typeof o.token_uri === "string" ? o.token_uri : "https://oauth2.googleapis.com/token" };
}
