/**
 * The syslog sink against a real rsyslogd (GnuTLS driver) on loopback: RFC 5424 over TLS with
 * RFC 5425 octet counting and mutual TLS; a client certificate from another CA is refused, a
 * server certificate for another name is refused, and neither is retried.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, waitFor, writeConfig, writeLog } from "./_helpers.ts";
import { parseForwarded, startRsyslog, type Rsyslog } from "./_rsyslog.ts";
import { makeCerts, type Certs } from "./_tls.ts";

let base: string;
let certs: Certs;
let dir: string;
let audit: string;
let rsyslog: Rsyslog | undefined;

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
