#!/usr/bin/env bun
/**
 * How fast `ato forward` empties the evidence log into its sinks, beside the rate the log is
 * written. Writes a log of N flow records with the real writer (timed: the baseline), then,
 * per round, `ato forward --once` into:
 *   - NATS JetStream, a three-node nats-server cluster on loopback, stream with replicas = 3
 *     (a fresh stream per round, so the duplicate window never drops a message);
 *   - rsyslogd over TLS (GnuTLS, mutual TLS), timed until rsyslog has written every message.
 * Reports records/s (median of the rounds), ratios to the write rate, and the forwarder's
 * CPU seconds (user + system, from the kernel's rusage) per million records.
 * `ato` is dist/ato when built, else bun src/main.ts.
 *
 *   bun scripts/bench-forward.ts [RECORDS] [--rounds N] [--quick] [--json PATH]   # default 200000; --quick 20000
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EvidenceLog } from "../src/log/index.ts";
import { client, createStream, startNats, streamInfo } from "../test/forward/_nats.ts";
import { startRsyslog } from "../test/forward/_rsyslog.ts";
import { makeCerts } from "../test/forward/_tls.ts";
import { logLines, waitFor } from "../test/forward/_helpers.ts";
import { benchArgs, measurement, result, runSection, section, type SectionId, type SectionReport } from "./bench-lib.ts";

const args = benchArgs();
const DIST = resolve(import.meta.dir, "../dist/ato");
const ATO = existsSync(DIST) ? [DIST] : ["bun", resolve(import.meta.dir, "../src/main.ts")];
const records = Number(args.positional[0] ?? (args.quick ? 20_000 : 200_000));
const rounds = args.number("rounds", args.quick ? 1 : 3);
// Not (yet) one of scripts/bench's sections: run on its own.
const ID = "forward" as SectionId;
const TITLE = "Forwarding: ato forward to JetStream R3 and rsyslog over TLS, beside the log's write rate";
const dir = mkdtempSync(join(tmpdir(), "bench-forward-"));
const stops: (() => Promise<void>)[] = [];

async function main(): Promise<SectionReport> {
  const s = section(ID, TITLE, args.command, args.quick);
  const audit = join(dir, "audit");
  mkdirSync(audit);
  const writeRate = writeLog(audit);
  const lines = logLines(audit).length;

  const cluster = await startNats(join(dir, "nats"), { nodes: 3 });
  stops.push(() => cluster.stop());
  const conn = await client(cluster.urls);
  stops.push(async () => conn.close());
  const certs = makeCerts(mkdirp(join(dir, "certs")));
  const rsyslog = await startRsyslog(mkdirp(join(dir, "rsyslog")), certs);
  stops.push(() => rsyslog.stop());

  const js: number[] = [], jsCpu: number[] = [], sl: number[] = [], slCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const stream = `BENCH${r}`;
    await createStream(conn, stream, [`bench${r}.>`], 3);
    const a = await forwardOnce(audit, `js${r}`, { type: "jetstream", servers: cluster.urls, subject_prefix: `bench${r}`, stream, ack_timeout_ms: 10_000 });
    const got = (await streamInfo(conn, stream)).messages;
    if (got !== lines) throw new Error(`JetStream round ${r}: ${got} messages for ${lines} lines`);
    js.push(lines / a.seconds);
    jsCpu.push((a.cpu / lines) * 1e6);

    const before = rsyslog.messages().length;
    const t0 = performance.now();
    const b = await forwardOnce(audit, `syslog${r}`, { type: "syslog-tls", host: "127.0.0.1", port: rsyslog.port, server_name: "localhost", ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey });
    await waitFor("rsyslog to write every message", () => rsyslog.messages().length >= before + lines, 300_000);
    const seconds = (performance.now() - t0) / 1000;
    sl.push(lines / seconds);
    slCpu.push((b.cpu / lines) * 1e6);
  }

  const recovery: number[] = [];
  for (let r = 0; r < rounds; r++) recovery.push(await leaderKillRecovery(cluster, conn, r));

  const cmd = `${display(ATO)} forward --once --audit-dir LOG --config CONFIG`;
  s.results.push(
    result({
      id: "records-per-second",
      title: "records/s forwarded, beside the writer's records/s",
      better: "higher",
      command: cmd,
      inputs: { records, lines, rounds, batch_records: 1000 },
      measurements: [
        measurement("ato forward → JetStream R3", "records/s", js),
        measurement("ato forward → rsyslog TLS", "records/s", sl),
        measurement("EvidenceLog write (no signer)", "records/s", [writeRate]),
      ],
    }),
    result({
      id: "cpu-per-million",
      title: "forwarder CPU seconds (user + system) per million records",
      better: "lower",
      command: cmd,
      inputs: { records, lines, rounds },
      measurements: [measurement("ato forward → JetStream R3", "CPU s / 1M records", jsCpu), measurement("ato forward → rsyslog TLS", "CPU s / 1M records", slCpu)],
    }),
  );
  s.results.push(result({
    id: "leader-kill-recovery",
    title: "seconds from SIGKILL of the stream leader to the next message stored (R3, writer appending)",
    better: "lower",
    command: `${display(ATO)} forward --audit-dir LOG --config CONFIG; kill -9 <leader nats-server>`,
    inputs: { replicas: 3, append_per_100ms: 500, ack_timeout_ms: 2000, retry_max_ms: 1000 },
    measurements: [measurement("ato forward → JetStream R3", "s", recovery)],
  }));
  s.notes.push(
    "JetStream: three nats-server 2.9 nodes on loopback of the same 2-core VM, file storage, replicas = 3: the servers' own CPU competes with the forwarder's.",
    "rsyslog: timed until rsyslogd has written every message to its file (syslog over TLS has no acknowledgement of its own).",
    "Leader kill: a follow-mode forwarder while the writer appends 500 records every 100 ms; the time runs from the SIGKILL until the stream's message count grows again, read from a surviving node (it includes the cluster's election and the forwarder's ack timeout and backoff).",
    "Not measured: lag under a sustained 100 k records/s. The writer alone reaches about that rate here, the forwarder to JetStream R3 about a tenth of it on this 2-core VM shared with three NATS servers, so the lag would grow by the difference every second.",
  );
  return s.finish();
}

/** A follow-mode forwarder, a writer appending, the stream leader SIGKILLed: seconds until the stream grows again. */
async function leaderKillRecovery(cluster: Awaited<ReturnType<typeof startNats>>, conn: Awaited<ReturnType<typeof client>>, r: number): Promise<number> {
  const stream = `RECOVER${r}`;
  await createStream(conn, stream, [`recover${r}.>`], 3);
  const audit = mkdirp(join(dir, `recover${r}`));
  const log = EvidenceLog.open({ auditDir: audit, signer: null, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {}, hostname: "benchhost" });
  const cfg = join(dir, `recover${r}.json`);
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), batch: { records: 500, linger_ms: 20 }, retry: { base_ms: 100, max_ms: 1000 }, poll_ms: 20, sinks: [{ name: `recover${r}`, type: "jetstream", servers: cluster.urls, subject_prefix: `recover${r}`, stream, ack_timeout_ms: 2000 }] }));
  const p = Bun.spawn([...ATO, "forward", "--audit-dir", audit, "--config", cfg], { stdout: "ignore", stderr: "ignore" });
  let n = 0;
  const writer = setInterval(() => log.appendRecords("flow", Array.from({ length: 500 }, () => ({ src: "198.18.0.0/24", dst: "198.18.1.0/24", proto: 6, packets: ++n, bytes: 60 * n }))), 100);
  try {
    await waitFor("messages in the stream", async () => (await streamInfo(conn, stream)).messages > 2000, 60_000);
    const { leader } = await streamInfo(conn, stream);
    const survivor = await client(cluster.nodes.filter((x) => x.name !== leader).map((x) => x.url));
    try {
      await cluster.kill(leader!);
      const t0 = performance.now();
      const before = await countVia(survivor, stream);
      await waitFor("the stream to grow after the leader kill", async () => (await countVia(survivor, stream)) > before, 120_000);
      const seconds = (performance.now() - t0) / 1000;
      await cluster.start(leader!);
      return seconds;
    } finally {
      survivor.close();
    }
  } finally {
    clearInterval(writer);
    p.kill("SIGTERM");
    await p.exited;
    log.close();
  }
}

/** The stream's message count, or the last one seen while the cluster elects a leader. */
async function countVia(c: Awaited<ReturnType<typeof client>>, stream: string): Promise<number> {
  try {
    return (await streamInfo(c, stream)).messages;
  } catch {
    return -1;
  }
}

function writeLog(audit: string): number {
  const log = EvidenceLog.open({ auditDir: audit, signer: null, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {}, hostname: "benchhost" });
  const t0 = performance.now();
  for (let i = 0; i < records; i += 1000) {
    log.appendRecords("flow", Array.from({ length: Math.min(1000, records - i) }, (_, k) => ({ src: "198.18.0.0/24", dst: "198.18.1.0/24", proto: 6, packets: i + k, bytes: 60 * (i + k), flow_id: i + k })));
  }
  log.checkpoint();
  const rate = records / ((performance.now() - t0) / 1000);
  log.close();
  return rate;
}

async function forwardOnce(audit: string, name: string, sink: Record<string, unknown>): Promise<{ seconds: number; cpu: number }> {
  const cfg = join(dir, `${name}.json`);
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), batch: { records: 1000, bytes: 1 << 20 }, sinks: [{ name, ...sink }] }));
  const t0 = performance.now();
  const p = Bun.spawn([...ATO, "forward", "--once", "--audit-dir", audit, "--config", cfg], { stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`ato forward (${name}) exited ${code}: ${await new Response(p.stderr).text()}`);
  const u = p.resourceUsage();
  const cpu = u ? Number(u.cpuTime.user + u.cpuTime.system) / 1e6 : NaN;
  return { seconds, cpu };
}

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

function display(cmd: string[]): string {
  return cmd.map((a) => a.replace(/^.*\/dist\/ato$/, "dist/ato").replace(/^.*\/src\/main\.ts$/, "src/main.ts")).join(" ");
}

await runSection(ID, TITLE, main, async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});
