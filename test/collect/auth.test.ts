/**
 * `ato collect` against a nats-server that wants mutual TLS and a token (certificates made by
 * OpenSSL for this run): with the CA, the client certificate and the token it drains and verifies
 * what `ato forward` published over the same TLS; a wrong token is one clear line, exit 77, and
 * neither token is ever printed; a server that wants TLS without --nats-ca is named as such.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hsm, openLog, type Hsm } from "../log/_helpers.ts";
import { ATO_MAIN, appendFlows, closeLogs, forward, removeDir, tempDir, writeConfig } from "../forward/_helpers.ts";
import { client, createStream, startNats, type Cluster } from "../forward/_nats.ts";
import { makeCerts, type Certs } from "../forward/_tls.ts";

const TOKEN = "fleet-token-7e3b51";
const WRONG = "wrong-token-c04d92";
let key: Hsm;
let dir: string;
let nats: Cluster;
let certs: Certs;
const stream = `AUTH_${Math.random().toString(36).slice(2, 8).toUpperCase()}`;

beforeAll(async () => {
  key = await hsm("ed25519");
  dir = tempDir("ato-collect-auth-");
  certs = makeCerts(mkdirp(join(dir, "certs")));
  nats = await startNats(join(dir, "nats"), { token: TOKEN, tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
  const conn = await client(nats.urls, TOKEN, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
  await createStream(conn, stream, ["ato.evidence.>"], 1);
  conn.close();
  const audit = mkdirp(join(dir, "host"));
  const log = openLog(audit, key, { origin: "ato/tls-host", checkpointEvery: 50, rotateLines: 200 });
  appendFlows(log, 300);
  closeLogs();
  const cfg = writeConfig(mkdirp(join(dir, "fwd")), {
    state_dir: join(dir, "fwd", "state"),
    sinks: [{ name: "fleet", type: "jetstream", servers: nats.urls, stream, token_env: "ATO_TEST_NATS_TOKEN", ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey, server_name: "localhost" }],
  });
  const r = await forward(["--audit-dir", audit, "--config", cfg, "--once"], { ATO_TEST_NATS_TOKEN: TOKEN });
  if (r.code !== 0) throw new Error(`ato forward exited ${r.code}: ${r.stderr}`);
});
afterAll(async () => {
  await nats?.stop();
  key?.cleanup();
  if (dir) removeDir(dir);
});

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

async function collect(extra: string[], token: string | undefined) {
  const env: Record<string, string | undefined> = { ...process.env, ATO_COLLECT_NATS_TOKEN: token };
  if (token === undefined) delete env.ATO_COLLECT_NATS_TOKEN;
  const p = Bun.spawn(["bun", ATO_MAIN, "collect", "--nats", nats.urls[0]!, "--stream", stream, "--out", join(dir, `out-${Math.random().toString(36).slice(2)}`),
    "--pubkey", key.pubkeyPath, "--ack-wait", "2", "--once", ...extra], { stdout: "pipe", stderr: "pipe", env });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

const mtls = () => ["--nats-ca", certs.ca, "--nats-cert", certs.clientCert, "--nats-key", certs.clientKey, "--nats-server-name", "localhost"];

test("mutual TLS and the right token: the origin is drained and verifies", async () => {
  const r = await collect([...mtls(), "--durable", "good"], TOKEN);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout.trim());
  expect(s).toMatchObject({ origin: "ato/tls-host", result: "verified", missing: 0, behind: 0 });
  expect(s.tree_size).toBeGreaterThan(300);
});

test("a wrong token: one line naming the refusal, exit 77, no token printed", async () => {
  const r = await collect([...mtls(), "--durable", "wrong"], WRONG);
  expect(r.code).toBe(77);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(/refused|[Aa]uthoriz/);
  expect(r.stdout + r.stderr).not.toContain(WRONG);
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
});

test("no token at all is refused the same way", async () => {
  const r = await collect([...mtls(), "--durable", "none"], undefined);
  expect(r.code).toBe(77);
  expect(r.stderr.trim().split("\n").length).toBe(1);
});

test("a server that wants TLS, and no --nats-ca: the error says TLS is required", async () => {
  const r = await collect(["--durable", "plain"], TOKEN);
  expect(r.code).toBe(77);
  expect(r.stderr).toMatch(/requires TLS/);
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
});

test("--nats-cert without --nats-key is a usage error before connecting", async () => {
  const r = await collect(["--nats-ca", certs.ca, "--nats-cert", certs.clientCert], TOKEN);
  expect(r.code).toBe(64);
  expect(r.stderr).toContain("--nats-key");
});
