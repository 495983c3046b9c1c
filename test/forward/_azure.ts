/**
 * A receiver that enforces the Azure Monitor Logs Ingestion reference and the Entra ID
 * client-credentials flow it needs (no Azure here): the token endpoint checks grant type,
 * client id, secret and scope (401 invalid_client otherwise); the ingestion endpoint checks
 * the DCR path, api-version, a current bearer token (401 InvalidToken after revoke()), JSON
 * arrays, and the body limit (413 ContentLengthLimitExceeded); 204 on success. `revokeAfter`
 * revokes every token after that many accepted requests.
 */
export interface AzureReceiver {
  url: string;
  rows: any[];
  tokenRequests: number;
  ingest: number[];
  revoke(): void;
  stop(): void;
}

export function startAzure(o: { clientId: string; secret: string; maxBytes: number; revokeAfter?: number }): AzureReceiver {
  const rows: any[] = [];
  const ingest: number[] = [];
  const valid = new Set<string>();
  let issued = 0;
  const rx: AzureReceiver = { url: "", rows, tokenRequests: 0, ingest, revoke: () => valid.clear(), stop: () => server.stop(true) };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/tenant-1/oauth2/v2.0/token") {
        rx.tokenRequests++;
        const f = new URLSearchParams(await req.text());
        if (f.get("grant_type") !== "client_credentials" || f.get("scope") !== "https://monitor.azure.com/.default") return Response.json({ error: "invalid_request" }, { status: 400 });
        if (f.get("client_id") !== o.clientId || f.get("client_secret") !== o.secret) return Response.json({ error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." }, { status: 401 });
        const t = `tok-${++issued}`;
        valid.add(t);
        return Response.json({ token_type: "Bearer", expires_in: 3599, access_token: t });
      }
      if (u.pathname !== "/dataCollectionRules/dcr-0123/streams/Custom-AtoEvidence" || u.searchParams.get("api-version") !== "2023-01-01") return Response.json({ error: { code: "NotFound" } }, { status: 404 });
      const auth = req.headers.get("authorization") ?? "";
      if (!auth.startsWith("Bearer ") || !valid.has(auth.slice(7))) return reply(401, { error: { code: "InvalidToken", message: "The provided token is invalid or expired" } });
      const body = await req.text();
      if (Buffer.byteLength(body) > o.maxBytes) return reply(413, { error: { code: "ContentLengthLimitExceeded", message: `Maximum allowed content length: ${o.maxBytes} bytes.` } });
      const parsed = JSON.parse(body);
      if (!Array.isArray(parsed)) return reply(400, { error: { code: "InvalidJson", message: "expected an array" } });
      rows.push(...parsed);
      if (ingest.filter((x) => x === 204).length + 1 === o.revokeAfter) valid.clear(); // the token is revoked mid-run
      return reply(204, null);
    },
  });
  function reply(status: number, body: unknown) {
    ingest.push(status);
    return body === null ? new Response(null, { status }) : Response.json(body, { status });
  }
  rx.url = `http://127.0.0.1:${server.port}`;
  return rx;
}
