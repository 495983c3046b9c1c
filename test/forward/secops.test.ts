/**
 * The Google SecOps sink against a receiver enforcing Google's published flow (no Google
 * here): the token endpoint checks the service account's RS256 JWT (signature, iss, aud,
 * scope, expiry) and answers invalid_grant otherwise; the ingestion endpoint checks the
 * bearer token, customer_id and entries of log_text with a microsecond timestamp.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createVerify, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";

const EMAIL = "ato-forwarder@example-project.iam.gserviceaccount.com";
const CUSTOMER = "c0ffee00-0000-4000-8000-000000000001";
let dir: string;
let audit: string;
let server: ReturnType<typeof Bun.serve> | undefined;
const entries: any[] = [];
let tokenRequests = 0;

const account = generateKeyPairSync("rsa", { modulusLength: 2048 });

beforeEach(() => {
  dir = tempDir("ato-forward-secops-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  entries.length = 0;
  tokenRequests = 0;
  const tokens = new Set<string>();
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/token") {
        tokenRequests++;
        const f = new URLSearchParams(await req.text());
        const [h, c, sig] = (f.get("assertion") ?? "").split(".");
        const claims = JSON.parse(Buffer.from(c ?? "", "base64url").toString() || "{}");
        const ok = f.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer" && JSON.parse(Buffer.from(h!, "base64url").toString()).alg === "RS256" &&
          createVerify("RSA-SHA256").update(`${h}.${c}`).verify(account.publicKey, Buffer.from(sig ?? "", "base64url"));
        if (!ok) return Response.json({ error: "invalid_grant", error_description: "Invalid JWT Signature." }, { status: 400 });
        if (claims.iss !== EMAIL || claims.aud !== `${u.origin}/token` || claims.scope !== "https://www.googleapis.com/auth/malachite-ingestion" || !(claims.exp > Date.now() / 1000)) {
          return Response.json({ error: "invalid_grant", error_description: "Invalid JWT: claims" }, { status: 400 });
        }
        const t = `ya29.${tokens.size + 1}`;
        tokens.add(t);
        return Response.json({ access_token: t, expires_in: 3599, token_type: "Bearer" });
      }
      if (u.pathname !== "/v2/unstructuredlogentries:batchCreate") return new Response("not found", { status: 404 });
      if (!tokens.has((req.headers.get("authorization") ?? "").slice(7))) return Response.json({ error: { code: 401, status: "UNAUTHENTICATED" } }, { status: 401 });
      const body = await req.json();
      if (body.customer_id !== CUSTOMER || typeof body.log_type !== "string" || !Array.isArray(body.entries)) return Response.json({ error: { code: 400, status: "INVALID_ARGUMENT" } }, { status: 400 });
      for (const e of body.entries) if (typeof e.log_text !== "string" || !/^\d+$/.test(e.ts_epoch_microseconds)) return Response.json({ error: { code: 400, status: "INVALID_ARGUMENT" } }, { status: 400 });
      entries.push(...body.entries);
      return Response.json({});
    },
  });
});
afterEach(() => {
  server?.stop(true);
  closeLogs();
  removeDir(dir);
});

function run(privateKey: string) {
  const keyFile = join(dir, "sa.json");
  writeFileSync(keyFile, JSON.stringify({ type: "service_account", client_email: EMAIL, private_key: privateKey, token_uri: `http://127.0.0.1:${server!.port}/token` }), { mode: 0o600 });
  const cfg = writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 150 }, sinks: [{ name: "secops", type: "google-secops", url: `http://127.0.0.1:${server!.port}`, customer_id: CUSTOMER, credentials_file: keyFile }] });
  return forward(["--audit-dir", audit, "--config", cfg, "--once"]);
}

const pem = (k: KeyObject) => k.export({ type: "pkcs8", format: "pem" }).toString();

describe("Google SecOps sink", () => {
  test("a JWT-bearer token, then every line verbatim as log_text with its time in microseconds", async () => {
    writeLog(audit, 400);
    const r = await run(pem(account.privateKey));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    expect(entries.map((e) => e.log_text)).toEqual(lines);
    expect(entries.map((e) => e.ts_epoch_microseconds)).toEqual(lines.map((l) => String(Date.parse(JSON.parse(l).ts) * 1000)));
    expect(tokenRequests).toBe(1);
  });

  test("a key of another account: invalid_grant, exit 77, the key never printed", async () => {
    writeLog(audit, 20);
    const other = pem(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
    const r = await run(other);
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink secops: Google's token endpoint answered 400");
    expect(r.stderr).toContain("Invalid JWT Signature");
    expect(tokenRequests).toBe(1);
    expect(r.stderr + r.stdout).not.toContain("PRIVATE KEY");
    expect(entries).toEqual([]);
  });
});
