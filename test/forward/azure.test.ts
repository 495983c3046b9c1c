/**
 * The Azure Monitor Logs Ingestion sink against a receiver enforcing the published reference:
 * client-credentials token, 413 split, a revoked token replaced once, a wrong client secret
 * refused once and never printed.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";
import { startAzure, type AzureReceiver } from "./_azure.ts";

const SECRET = "az~client~secret~9Q7";
let dir: string;
let audit: string;
let az: AzureReceiver | undefined;

beforeEach(() => {
  dir = tempDir("ato-forward-azure-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(() => {
  az?.stop();
  closeLogs();
  removeDir(dir);
});

const run = (secret: string, records = 200) =>
  forward(
    ["--audit-dir", audit, "--config", writeConfig(dir, {
      state_dir: join(dir, "state"),
      batch: { records },
      sinks: [{ name: "sentinel", type: "azure-monitor", endpoint: az!.url, token_url: `${az!.url}/tenant-1/oauth2/v2.0/token`, tenant_id: "tenant-1", client_id: "app-42", client_secret_env: "ATO_TEST_AZ_SECRET", dcr_id: "dcr-0123", stream: "Custom-AtoEvidence" }],
    }), "--once"],
    { ATO_TEST_AZ_SECRET: secret },
  );

describe("Azure Monitor Logs Ingestion sink", () => {
  test("rows in order, batches over the body limit split, one token for the run", async () => {
    az = startAzure({ clientId: "app-42", secret: SECRET, maxBytes: 32 * 1024 });
    writeLog(audit, 600);
    const r = await run(SECRET, 400);
    expect(r.code).toBe(0);
    expect(az.ingest).toContain(413);
    expect(az.rows.map((x) => x.Line)).toEqual(logLines(audit));
    expect(az.rows.map((x) => x.Seq)).toEqual(logLines(audit).map((_, i) => i));
    expect(az.tokenRequests).toBe(1);
  });

  test("a token revoked mid-run: a new one is fetched once and delivery goes on", async () => {
    az = startAzure({ clientId: "app-42", secret: SECRET, maxBytes: 1 << 20, revokeAfter: 2 });
    writeLog(audit, 600);
    const r = await run(SECRET, 100);
    expect(r.code).toBe(0);
    expect(az.ingest.filter((x) => x === 401).length).toBe(1);
    expect(az.tokenRequests).toBe(2);
    expect(az.rows.map((x) => x.Line)).toEqual(logLines(audit));
  });

  test("a wrong client secret: one token request, exit 77, the secret never printed", async () => {
    az = startAzure({ clientId: "app-42", secret: SECRET, maxBytes: 1 << 20 });
    writeLog(audit, 50);
    const r = await run("not-the-secret-0x");
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink sentinel: the Entra ID token endpoint answered 401");
    expect(r.stderr).toContain("invalid_client");
    expect(az.tokenRequests).toBe(1);
    expect(r.stderr + r.stdout).not.toContain("not-the-secret-0x");
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });
});
