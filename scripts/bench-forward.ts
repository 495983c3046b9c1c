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
 * Then, sustained: a writer process appends at a fixed rate (--rate, default 100000 records/s)
 * for --seconds while a following `ato forward` ships to each of the two; its /metrics is
 * sampled every 250 ms for the lag (records and seconds). Reported: the rate the writer
 * reached (the reference), the forwarder's throughput over the same window, p50/p99/max lag,
 * the time to drain after the writer stops, CPU per million records of the forwarder and of
 * the servers. `ato` is dist/ato when built, else bun src/main.ts.
 *
 *   bun scripts/bench-forward.ts [RECORDS] [--rounds N] [--rate R] [--seconds S] [--quick] [--json PATH]   # default 200000; --quick 20000
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EvidenceLog } from "../src/log/index.ts";
import { client, createStream, deleteStream, startNats, streamInfo } from "../test/forward/_nats.ts";
import { startRsyslog } from "../test/forward/_rsyslog.ts";
import { makeCerts } from "../test/forward/_tls.ts";
import { freePort, logLines, waitFor } from "../test/forward/_helpers.ts";
import { benchArgs, measurement, result, runSection, section, type SectionId, type SectionReport } from "./bench-lib.ts";

if (process.argv[2] === "--writer") await writer(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));

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
    await deleteStream(conn, stream); // each node's store is 1 GB: free it for the next runs
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

  const rate = args.number("rate", 100_000);
  const seconds = args.number("seconds", args.quick ? 6 : 20);
  const sustained: Sustained[] = [];
  for (let r = 0; r < rounds; r++) {
    const stream = `SUSTAIN${r}`;
    await createStream(conn, stream, [`sustain${r}.>`], 3);
    const servers = () => cluster.nodes.reduce((t, n) => t + cpuOf(n.proc?.pid), 0);
    sustained.push(await sustain(`sjs${r}`, { type: "jetstream", servers: cluster.urls, subject_prefix: `sustain${r}`, stream, ack_timeout_ms: 10_000 }, rate, seconds, servers));
    await deleteStream(conn, stream);
    const received = rsyslog.messages().length;
    sustained.push(await sustain(`ssl${r}`, { type: "syslog-tls", host: "127.0.0.1", port: rsyslog.port, server_name: "localhost", ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey }, rate, seconds, () => 0, (sent) => waitFor("rsyslog to write every message", () => rsyslog.messages().length >= received + sent, 600_000)));
  }

  const recovery: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // a fresh client each round: the last round's SIGKILL may have taken the node it was on
    const rc = await client(cluster.urls);
    try {
      recovery.push(await leaderKillRecovery(cluster, rc, r));
    } finally {
      rc.close();
    }
  }

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
  const js3 = sustained.filter((x) => x.sink.startsWith("sjs")), sl3 = sustained.filter((x) => x.sink.startsWith("ssl"));
  const pick = (xs: Sustained[], f: (x: Sustained) => number) => xs.map(f);

  const sustainCmd = `bench-forward --writer LOG ${rate} ${seconds} & ${display(ATO)} forward --audit-dir LOG --config CONFIG (listen; /metrics every 250 ms)`;
  const sustainInputs = { target_rate: rate, seconds, rounds, batch_records: 1000, linger_ms: 20, sample_ms: 250 };
  s.results.push(
    ...(
      [
        ["jetstream-r3", "JetStream R3", js3],
        ["rsyslog-tls", "rsyslog TLS", sl3],
      ] as const
    ).map(([id, label, xs]) =>
      result({
        id: `sustained-throughput/${id}`,
        title: `records/s forwarded to ${label} while a writer appends at a target of ${rate} records/s for ${seconds} s, beside the rate the writer reached in the same run`,
        better: "higher",
        command: sustainCmd,
        inputs: sustainInputs,
        measurements: [measurement(`ato forward → ${label} (sustained)`, "records/s", pick(xs, (x) => x.forwardRate)), measurement("writer beside it", "records/s", pick(xs, (x) => x.writerRate))],
      }),
    ),
    result({
      id: "sustained-lag-records",
      title: "lag in records (ato_forward_lag_records) sampled every 250 ms while the writer appends",
      better: "lower",
      command: sustainCmd,
      inputs: sustainInputs,
      measurements: [
        measurement("JetStream R3 p50", "records", pick(js3, (x) => x.lagRecords.p50)),
        measurement("JetStream R3 p99", "records", pick(js3, (x) => x.lagRecords.p99)),
        measurement("JetStream R3 max", "records", pick(js3, (x) => x.lagRecords.max)),
        measurement("rsyslog TLS p50", "records", pick(sl3, (x) => x.lagRecords.p50)),
        measurement("rsyslog TLS p99", "records", pick(sl3, (x) => x.lagRecords.p99)),
        measurement("rsyslog TLS max", "records", pick(sl3, (x) => x.lagRecords.max)),
      ],
    }),
    result({
      id: "sustained-lag-seconds",
      title: "lag in seconds (ato_forward_lag_seconds: age of the oldest unacknowledged line) while the writer appends, and the time to drain after it stops",
      better: "lower",
      command: sustainCmd,
      inputs: sustainInputs,
      measurements: [
        measurement("JetStream R3 p50", "s", pick(js3, (x) => x.lagSeconds.p50)),
        measurement("JetStream R3 p99", "s", pick(js3, (x) => x.lagSeconds.p99)),
        measurement("JetStream R3 max", "s", pick(js3, (x) => x.lagSeconds.max)),
        measurement("JetStream R3 drain after the writer stops", "s", pick(js3, (x) => x.drainSeconds)),
        measurement("rsyslog TLS p50", "s", pick(sl3, (x) => x.lagSeconds.p50)),
        measurement("rsyslog TLS p99", "s", pick(sl3, (x) => x.lagSeconds.p99)),
        measurement("rsyslog TLS max", "s", pick(sl3, (x) => x.lagSeconds.max)),
        measurement("rsyslog TLS drain after the writer stops (until rsyslog wrote all)", "s", pick(sl3, (x) => x.drainSeconds)),
      ],
    }),
    result({
      id: "sustained-cpu-per-million",
      title: "CPU seconds (user + system) per million records during the sustained run: forwarder, writer, and the three nats-servers",
      better: "lower",
      command: sustainCmd,
      inputs: sustainInputs,
      measurements: [
        measurement("ato forward → JetStream R3", "CPU s / 1M records", pick(js3, (x) => x.forwardCpuPerM)),
        measurement("writer (JetStream run)", "CPU s / 1M records", pick(js3, (x) => x.writerCpuPerM)),
        measurement("3 nats-servers (R3)", "CPU s / 1M records", pick(js3, (x) => x.serverCpuPerM)),
        measurement("ato forward → rsyslog TLS", "CPU s / 1M records", pick(sl3, (x) => x.forwardCpuPerM)),
        measurement("writer (rsyslog run)", "CPU s / 1M records", pick(sl3, (x) => x.writerCpuPerM)),
      ],
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
    `Sustained: a separate writer process (the real EvidenceLog, no signer) appends at a target of ${rate} records/s in steps of at most 2,000 for ${seconds} s while a following ato forward (batch 1000, linger 20 ms, poll 20 ms) ships to the sink; the writer's reached rate is the reference (it shares the 2 cores with the forwarder and, for JetStream, three nats-servers, so it falls short of its rate alone, the "EvidenceLog write" figure above).`,
    "Lag: ato_forward_lag_records and ato_forward_lag_seconds from the forwarder's /metrics every 250 ms (records from the log's head, read at most every 250 ms; seconds: the age of the oldest unacknowledged line). Drain: from the writer's end until the sink acknowledged everything (rsyslog: until rsyslogd wrote every message to its file).",
    "Server CPU: utime + stime of the three nats-server processes from /proc over the sustained run, per million records: JetStream R3 spends several times the forwarder's CPU per message, so on 2 cores the cluster, not the forwarder, sets the JetStream rate.",
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

interface Sustained {
  sink: string;
  writerRate: number;
  forwardRate: number;
  lagRecords: Stats;
  lagSeconds: Stats;
  drainSeconds: number;
  forwardCpuPerM: number;
  writerCpuPerM: number;
  serverCpuPerM: number;
}
interface Stats { p50: number; p99: number; max: number }

/**
 * A writer process appending at `rate` for `seconds`, a following forwarder beside it, its
 * lag sampled from /metrics. The forwarder's throughput is what the sink acknowledged
 * between the writer's start and end, over that time.
 */
async function sustain(name: string, sink: Record<string, unknown>, rate: number, seconds: number, serverCpu: () => number, drained?: (sent: number) => Promise<void>): Promise<Sustained> {
  const audit = mkdirp(join(dir, name));
  const port = await freePort();
  const cfg = join(dir, `${name}.json`);
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), listen: `127.0.0.1:${port}`, batch: { records: 1000, bytes: 1 << 20, linger_ms: 20 }, poll_ms: 20, sinks: [{ name, ...sink }] }));
  // the log must exist before the forwarder looks: one record first
  const seed = EvidenceLog.open({ auditDir: audit, signer: null, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {}, hostname: "benchhost" });
  seed.appendRecords("flow", [{ src: "198.18.0.0/24", dst: "198.18.1.0/24", proto: 6, packets: 0, bytes: 0, flow_id: 0 }]);
  seed.close();
  const fwd = Bun.spawn([...ATO, "forward", "--audit-dir", audit, "--config", cfg], { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}/metrics`;
  const metric = async () => {
    const text = await (await fetch(url)).text();
    const get = (m: string) => Number(new RegExp(`^${m}\\{sink="${name}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    return { lag: get("ato_forward_lag_records"), age: get("ato_forward_lag_seconds"), sent: get("ato_forward_sent_records_total") };
  };
  try {
    await waitFor("the forwarder's metrics", async () => !Number.isNaN((await metric().catch(() => ({ sent: NaN }))).sent), 30_000);
    const server0 = serverCpu();
    const before = await metric();
    const w = Bun.spawn(["bun", import.meta.path, "--writer", audit, String(rate), String(seconds)], { stdout: "pipe", stderr: "inherit" });
    const lags: number[] = [], ages: number[] = [];
    let writing = true;
    const sampler = (async () => {
      while (writing) {
        await Bun.sleep(250);
        const m = await metric();
        lags.push(m.lag);
        ages.push(m.age);
      }
    })();
    const out = JSON.parse(await new Response(w.stdout).text()) as { records: number; seconds: number; cpu: number };
    await w.exited;
    writing = false;
    await sampler;
    const atEnd = await metric();
    const total = out.records + before.sent;
    const t0 = performance.now();
    let last = atEnd;
    await waitFor("the forwarder to drain", async () => (last = await metric()).sent >= total && last.lag === 0, 600_000);
    await drained?.(last.sent);
    const drainSeconds = (performance.now() - t0) / 1000;
    const server1 = serverCpu();
    fwd.kill("SIGTERM");
    await fwd.exited;
    const u = fwd.resourceUsage();
    const fcpu = u ? Number(u.cpuTime.user + u.cpuTime.system) / 1e6 : NaN;
    return {
      sink: name,
      writerRate: out.records / out.seconds,
      forwardRate: (atEnd.sent - before.sent) / out.seconds,
      lagRecords: stats(lags),
      lagSeconds: stats(ages),
      drainSeconds,
      forwardCpuPerM: (fcpu / out.records) * 1e6,
      writerCpuPerM: (out.cpu / out.records) * 1e6,
      serverCpuPerM: ((server1 - server0) / out.records) * 1e6,
    };
  } finally {
    if (fwd.exitCode === null) fwd.kill("SIGKILL");
  }
}

function stats(xs: number[]): Stats {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: v.at(-1) ?? NaN };
}

/** CPU seconds (user + system) of a process so far, from /proc (0 when it is gone). */
function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** The writer process: appends flow records at `rate` per second for `seconds`, then prints what it reached. */
async function writer(audit: string, rate: number, seconds: number): Promise<never> {
  const log = EvidenceLog.open({ auditDir: audit, signer: null, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {}, hostname: "benchhost" });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds) break;
    const due = Math.min(Math.floor(rate * elapsed) - n, 2000);
    if (due <= 0) {
      await Bun.sleep(1);
      continue;
    }
    log.appendRecords("flow", Array.from({ length: due }, (_, k) => ({ src: "198.18.0.0/24", dst: "198.18.1.0/24", proto: 6, packets: n + k, bytes: 60 * (n + k), flow_id: n + k })));
    n += due;
  }
  const took = (performance.now() - t0) / 1000;
  log.checkpoint();
  log.close();
  const c = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ records: n, seconds: took, cpu: (c.user + c.system) / 1e6 }));
  process.exit(0);
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
