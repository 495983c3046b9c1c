/**
 * The JetStream sink against real nats-server 2.9 on loopback: a three-node cluster with a
 * replicated stream whose leader is SIGKILLed mid-stream, a forwarder SIGKILLed mid-batch, a
 * server that is down when the forwarder starts, and a refused token.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { appendFlows, closeLogs, forward, freePort, logLines, removeDir, spawnForward, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";
import { client, createStream, readStream, startNats, streamInfo, type Cluster } from "./_nats.ts";
import { makeCerts } from "./_tls.ts";
import type { NatsConnection } from "../../src/forward/nats/connection.ts";

let dir: string;
let audit: string;
let cluster: Cluster | undefined;
let conn: NatsConnection | undefined;
const procs: ReturnType<typeof spawnForward>[] = [];

beforeEach(() => {
  dir = tempDir("ato-forward-js-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  conn?.close();
  conn = undefined;
  await cluster?.stop();
  cluster = undefined;
  closeLogs();
  removeDir(dir);
});

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

function config(urls: string[], extra: Record<string, unknown> = {}, batch: Record<string, unknown> = { records: 200, linger_ms: 20 }) {
  return writeConfig(dir, {
    state_dir: join(dir, "state"),
    batch,
    retry: { base_ms: 100, max_ms: 1000 },
    poll_ms: 20,
    sinks: [{ name: "fleet", type: "jetstream", servers: urls, stream: "ATO", ack_timeout_ms: 2000, ...extra }],
  });
}

/** The stream holds every line of the log exactly once, verbatim, keyed origin/seq. */
async function expectExactlyOnce(lines: string[]): Promise<void> {
  const msgs = await readStream(conn!, "ATO", lines.length);
  expect(msgs.length).toBe(lines.length);
  const bySeq = new Map(msgs.map((m) => [m.body.seq, m]));
  expect(bySeq.size).toBe(lines.length);
  lines.forEach((line, seq) => {
    const m = bySeq.get(seq)!;
    expect(m.body.line).toBe(line);
    expect(m.msgId).toBe(`${m.body.origin}/${seq}`);
  });
}

describe("JetStream sink", () => {
  test("R3 cluster, stream leader SIGKILLed mid-stream and restarted: every line is in the stream exactly once", async () => {
    cluster = await startNats(dir, { nodes: 3 });
    conn = await client(cluster.urls);
    await createStream(conn, "ATO", ["ato.evidence.>"], 3);
    const log = writeLog(audit, 2000, { rotateLines: 1500 });
    const p = spawnForward(["--audit-dir", audit, "--config", config(cluster.urls)]);
    procs.push(p);
    const cursor = join(dir, "state", "fleet.cursor.json");
    const seqOf = () => {
      try {
        return JSON.parse(readFileSync(cursor, "utf8")).seq as number;
      } catch {
        return 0;
      }
    };
    await waitFor("the first batches", () => seqOf() > 400);
    const { leader } = await streamInfo(conn, "ATO");
    expect(leader).toBeDefined();
    await cluster.kill(leader!);
    appendFlows(log, 3000, 2000); // written while the stream has no leader
    await Bun.sleep(1500);
    await cluster.start(leader!);
    const total = logLines(audit).length;
    await waitFor("the forwarder to catch up", () => seqOf() === total, 90_000).catch(async (e) => {
      p.kill("SIGTERM");
      throw new Error(`${e.message} (cursor at ${seqOf()} of ${total}); forwarder said: ${await new Response(p.stderr).text()}`);
    });
    conn.close();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    conn = await client(cluster.urls);
    expect((await streamInfo(conn, "ATO")).messages).toBe(total);
    await expectExactlyOnce(logLines(audit));
  }, 120_000);

  test("the forwarder SIGKILLed mid-batch and restarted: nothing lost, nothing duplicated", async () => {
    cluster = await startNats(dir);
    conn = await client(cluster.urls);
    await createStream(conn, "ATO", ["ato.evidence.>"], 1);
    writeLog(audit, 20_000);
    const cfg = config(cluster.urls, {}, { records: 500, linger_ms: 0 });
    const p = spawnForward(["--audit-dir", audit, "--config", cfg]);
    procs.push(p);
    // with batches in flight the cursor trails the stream: wait until both moved
    await waitFor("some messages in the stream and a saved cursor", async () => (await streamInfo(conn!, "ATO")).messages > 3000 && existsSync(join(dir, "state", "fleet.cursor.json")));
    p.kill("SIGKILL");
    await p.exited;
    const sentBefore = (await streamInfo(conn, "ATO")).messages;
    const saved = JSON.parse(readFileSync(join(dir, "state", "fleet.cursor.json"), "utf8")).seq;
    expect(saved).toBeLessThan(20_000);
    const r = await forward(["--audit-dir", audit, "--config", cfg, "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    expect(sentBefore).toBeLessThan(lines.length);
    expect((await streamInfo(conn, "ATO")).messages).toBe(lines.length);
    await expectExactlyOnce(lines);
  }, 120_000);

  // ATO_FORWARD_LONG=1 keeps the server down for three minutes (the "for minutes"), not 1.5 s.
  const downMs = process.env.ATO_FORWARD_LONG === "1" ? 180_000 : 1500;
  test(`a server down when the forwarder starts (${downMs / 1000} s): it waits and retries without a storm, then delivers everything`, async () => {
    const port = await freePort();
    writeLog(audit, 300);
    const run = forward(["--audit-dir", audit, "--config", config([`nats://127.0.0.1:${port}`]), "--once"]);
    await Bun.sleep(downMs);
    cluster = await startNats(dir, { port });
    conn = await client(cluster.urls);
    await createStream(conn, "ATO", ["ato.evidence.>"], 1);
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`cannot reach nats://127.0.0.1:${port}: ECONNREFUSED`);
    // Backoff capped at max_ms (1 s here) and logged on the 1st and every 10th attempt: one line per
    // ~10 s of outage at most, never one per attempt.
    const retries = r.stderr.split("\n").filter((l) => l.includes("retrying")).length;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(2 + Math.ceil(downMs / 5000));
    await expectExactlyOnce(logLines(audit));
  }, 60_000 + downMs);

  test("mutual TLS: delivered over TLS; a client certificate from another CA and a name mismatch are refused", async () => {
    const certs = makeCerts(mkdirp(join(dir, "certs")));
    cluster = await startNats(dir, { tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
    const tls = { ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey, server_name: "localhost" };
    conn = await client(cluster.urls, undefined, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    await createStream(conn, "ATO", ["ato.evidence.>"], 1);
    writeLog(audit, 200);
    const good = await forward(["--audit-dir", audit, "--config", config(cluster.urls, tls), "--once"]);
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    await expectExactlyOnce(logLines(audit));
    rmSync(join(dir, "state"), { recursive: true }); // so the runs below have lines to send
    const rogue = await forward(["--audit-dir", audit, "--config", config(cluster.urls, { ...tls, cert_file: certs.rogueCert, key_file: certs.rogueKey }), "--once"]);
    expect(rogue.code).toBe(77);
    expect(rogue.stderr).toContain("sink fleet:");
    expect(rogue.stderr).toContain("the server refused our client certificate");
    expect(rogue.stderr).not.toContain("retrying");
    const wrongName = await forward(["--audit-dir", audit, "--config", config(cluster.urls, { ...tls, server_name: "fleet.example.org" }), "--once"]);
    expect(wrongName.code).toBe(77);
    expect(wrongName.stderr).toContain("the certificate is not for fleet.example.org");
  });

  test("a refused token is one clear error, not retried, and the token is never printed", async () => {
    cluster = await startNats(dir, { token: "right-token-4f2a" });
    writeLog(audit, 50);
    const r = await forward(["--audit-dir", audit, "--config", config(cluster.urls, { token_env: "ATO_TEST_NATS_TOKEN" }), "--once"], { ATO_TEST_NATS_TOKEN: "wrong-token-9c1d" });
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink fleet:");
    expect(r.stderr).toContain("Authorization Violation");
    expect(r.stderr).not.toContain("retrying");
    expect(r.stderr + r.stdout).not.toContain("wrong-token-9c1d");
    expect(r.stderr + r.stdout).not.toContain("right-token-4f2a");
  });
});
