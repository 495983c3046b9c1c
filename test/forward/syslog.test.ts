/**
 * The syslog sink against a real rsyslogd (GnuTLS driver) on loopback: RFC 5424 over TLS with
 * RFC 5425 octet counting and mutual TLS; a client certificate from another CA is refused, a
 * server certificate for another name is refused, and neither is retried. RELP (imrelp):
 * every message acknowledged, and rsyslogd SIGKILLed mid-stream loses nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, spawnForward, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";
import { parseForwarded, startRsyslog, type Rsyslog } from "./_rsyslog.ts";
import { makeCerts, type Certs } from "./_tls.ts";

let base: string;
let certs: Certs;
let dir: string;
let audit: string;
let rsyslog: Rsyslog | undefined;
const procs: ReturnType<typeof spawnForward>[] = [];

beforeAll(() => {
  base = tempDir("ato-forward-syslog-");
  certs = makeCerts(base);
});
afterAll(() => removeDir(base));
beforeEach(() => {
  dir = tempDir("ato-forward-syslog-run-");
  audit = join(dir, "audit");
  mkdirSync(audit);
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  await rsyslog?.stop();
  rsyslog = undefined;
  closeLogs();
  removeDir(dir);
});

function config(port: number, sink: Record<string, unknown> = {}) {
  return writeConfig(dir, {
    state_dir: join(dir, "state"),
    batch: { records: 300 },
    retry: { base_ms: 100, max_ms: 1000 },
    sinks: [{ name: "siem", type: "syslog-tls", host: "127.0.0.1", port, server_name: "localhost", ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey, hostname: "testhost", ...sink }],
  });
}

describe("syslog over TLS to rsyslog", () => {
  test("mutual TLS: every line arrives as the MSG of an RFC 5424 message, verbatim, with origin and seq in structured data", async () => {
    rsyslog = await startRsyslog(dir, certs);
    const log = writeLog(audit, 1500);
    const r = await forward(["--audit-dir", audit, "--config", config(rsyslog.port), "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    await waitFor("rsyslog to write every message", () => rsyslog!.messages().length >= lines.length);
    const got = rsyslog.messages().map(parseForwarded);
    expect(got.map((g) => g.line)).toEqual(lines);
    expect(got.map((g) => g.seq)).toEqual(lines.map((_, i) => i));
    expect(new Set(got.map((g) => g.origin))).toEqual(new Set([log.status().origin]));
    expect(got.map((g) => g.kind)).toEqual(lines.map((l) => JSON.parse(l).kind));
  });

  test("a client certificate from a CA rsyslog does not trust is refused: one clear error, no retries", async () => {
    rsyslog = await startRsyslog(dir, certs);
    writeLog(audit, 20);
    const r = await forward(["--audit-dir", audit, "--config", config(rsyslog.port, { cert_file: certs.rogueCert, key_file: certs.rogueKey }), "--once"]);
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink siem:");
    expect(r.stderr).toContain("refused our client certificate");
    expect(r.stderr).not.toContain("retrying");
    expect(r.stderr).not.toContain("PRIVATE KEY");
    expect(rsyslog.diagnostics()).toContain("not permitted to talk to peer");
    expect(rsyslog.messages()).toEqual([]);
  });

  test("a server certificate for another name (TLS name mismatch) is refused, not retried", async () => {
    rsyslog = await startRsyslog(dir, certs);
    writeLog(audit, 20);
    const r = await forward(["--audit-dir", audit, "--config", config(rsyslog.port, { server_name: "siem.example.org" }), "--once"]);
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("is not for siem.example.org (TLS name mismatch)");
    expect(r.stderr).not.toContain("retrying");
    expect(rsyslog.messages()).toEqual([]);
  });
});

describe("RELP to rsyslog (imrelp)", () => {
  const relpConfig = (port: number) =>
    writeConfig(dir, {
      state_dir: join(dir, "state"),
      batch: { records: 200, linger_ms: 0 },
      retry: { base_ms: 100, max_ms: 500 },
      poll_ms: 20,
      sinks: [{ name: "relp", type: "syslog-relp", host: "127.0.0.1", port, hostname: "testhost", ack_timeout_ms: 3000 }],
    });

  test("every message is a transaction rsyslog answers: all lines arrive, verbatim, in order", async () => {
    rsyslog = await startRsyslog(dir, certs, { relp: true });
    writeLog(audit, 1200);
    const r = await forward(["--audit-dir", audit, "--config", relpConfig(rsyslog.port), "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    await waitFor("rsyslog to write every message", () => rsyslog!.messages().length >= lines.length);
    expect(rsyslog.messages().map((m) => parseForwarded(m).line)).toEqual(lines);
  });

  test("rsyslogd SIGKILLed mid-stream and restarted: every line arrives (unanswered batches are sent again)", async () => {
    rsyslog = await startRsyslog(dir, certs, { relp: true });
    writeLog(audit, 30_000);
    const p = spawnForward(["--audit-dir", audit, "--config", relpConfig(rsyslog.port)]);
    procs.push(p);
    await waitFor("the first messages", () => rsyslog!.messages().length > 2000);
    await rsyslog.restart(500);
    const total = logLines(audit).length;
    await waitFor("the cursor to reach the end", () => cursorSeq("relp") === total, 90_000);
    const seqs = new Set(rsyslog.messages().map((m) => parseForwarded(m).seq));
    for (let i = 0; i < total; i++) if (!seqs.has(i)) throw new Error(`seq ${i} never reached rsyslog`);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(await new Response(p.stderr).text()).toContain("retrying");
  }, 120_000);
});

function cursorSeq(sink: string): number {
  try {
    return JSON.parse(readFileSync(join(dir, "state", `${sink}.cursor.json`), "utf8")).seq;
  } catch {
    return -1;
  }
}
