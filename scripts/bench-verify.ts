#!/usr/bin/env bun
/**
 * How fast `ato verify` is next to plain hashing. Builds an evidence log of about N MB
 * (signed by a fresh SoftHSM Ed25519 key, checkpoint every 1000 lines, 64 MiB segments),
 * then times, on the same files read from the page cache (they are read once first), each run a
 * fresh process (the compiled binary starts cold, as at a user's prompt), in rounds that take turns:
 *   ato verify DIR --pubkey KEY    sha256sum FILES    openssl dgst -sha256 FILES
 * and reports, as medians of the rounds, bytes/s by wall time and by CPU time (the child's
 * user + system, getrusage), the ratio to openssl of each, the 1-minute load average around
 * each figure, and the peak RSS of verify (/usr/bin/time -v, else /proc polling). `ato` is
 * dist/ato when built, else bun src/main.ts. `--against BIN` adds another ato binary to the
 * rounds (main's dist/ato, built in a temporary clone); `--log DIR --pubkey PEM` times an
 * existing log instead of building one (the 1 GB build takes about a minute). `--peers openssl` leaves
 * sha256sum out (it takes 5 s a round on 1 GB; openssl is the peer the figure is a ratio to).
 *
 *   bun scripts/bench-verify.ts [MB] [--rounds N] [--quick] [--json PATH] [--against BIN] [--log DIR --pubkey PEM] [--peers openssl,sha256sum]
 *   (default 1000 MB, 3 rounds; --quick 10 MB)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EvidenceLog } from "../src/log/index.ts";
import { openSigner, spkiToPem } from "../src/signer/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { benchArgs, runSection, measurement, median, result, section, type SectionReport } from "./bench-lib.ts";

const args = benchArgs();
const DIST = resolve(import.meta.dir, "../dist/ato");
const ATO = existsSync(DIST) ? [DIST] : ["bun", resolve(import.meta.dir, "../src/main.ts")];
const mb = Number(args.positional[0] ?? (args.quick ? 10 : 1000));
const rounds = args.number("rounds", 3);
const against = args.value("against");
const reuse = args.value("log");
const peers = new Set((args.value("peers") ?? "sha256sum,openssl").split(","));
if (!peers.has("openssl")) throw new Error("--peers must include openssl: every ratio is to it");
const TITLE = "Verification: ato verify beside sha256sum and openssl dgst";
if (!(mb > 0)) throw new Error("usage: bun scripts/bench-verify.ts [MB] [--rounds N] [--quick] [--json PATH]");

async function main(): Promise<SectionReport> {
  const s = section("verify", TITLE, args.command, args.quick);
  const token = reuse ? undefined : await createToken({ keyType: "ed25519" });
  const dir = reuse ? resolve(reuse) : mkdtempSync(join(tmpdir(), "bench-verify-")); // its own directory: large, and removed at the end
  try {
    const pubkey = reuse ? resolve(args.value("pubkey") ?? `${dir}.pem`) : join(token!.dir, "public.pem");
    const built = reuse ? { lines: 0, seconds: 0 } : build(token!, dir, pubkey, mb * 1e6);
    const files = readdirSync(dir).sort().map((f) => join(dir, f));
    const bytes = files.reduce((a, f) => a + statSync(f).size, 0);
    const tools: Record<string, string[]> = {
      "ato verify": [...ATO, "verify", dir, "--pubkey", pubkey],
      ...(against ? { "ato verify (--against)": [resolve(against), "verify", dir, "--pubkey", pubkey] } : {}),
      ...(peers.has("sha256sum") ? { sha256sum: ["sha256sum", ...files] } : {}),
      "openssl dgst -sha256": ["openssl", "dgst", "-sha256", ...files],
    };
    // Both sides read the log from the page cache: it is read once before the rounds (and fits in memory here).
    Bun.spawnSync(["cat", ...files], { stdout: "ignore" });
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) for (const [name, cmd] of Object.entries(tools)) samples[name]!.push(timed(cmd));
    // What any `ato …` pays before reading a byte (process start, citty, imports).
    const startup = median(Array.from({ length: 3 }, () => timed([...ATO, "verify", "--help"]).wall));
    const rss = peakRss(tools["ato verify"]!);
    const hashPath = Bun.spawnSync([...ATO, "version"], { stdout: "pipe", stderr: "ignore" }).stdout.toString().match(/^verify_hash .*$/m)?.[0];
    report({ bytes, lines: built.lines, files: files.length, buildSeconds: built.seconds, samples, startup, rss, hashPath });
    const display = (cmd: string[]) => cmd.map((a) => a === dir ? "LOGDIR" : a.startsWith(`${dir}/`) ? "FILES" : a === pubkey ? "public.pem" : a.replace(/^.*\/dist\/ato$/, "dist/ato")).filter((a, i, all) => a !== "FILES" || all[i - 1] !== "FILES").join(" ");
    const inputs = { log_mb: Math.round(bytes / 1e6), lines: built.lines, files: files.length, rounds, load_average: loadText(Object.values(samples).flat()) };
    s.results.push(result({
      id: "throughput",
      title: "log bytes/s by wall time, warm page cache",
      better: "higher",
      command: Object.values(tools).map(display).join(" | "),
      inputs,
      measurements: Object.entries(samples).map(([name, xs]) => measurement(name, "MB/s", xs.map((x) => bytes / 1e6 / x.wall))),
    }), result({
      id: "throughput-cpu",
      title: "log bytes per CPU second (user + system of the process)",
      better: "higher",
      command: Object.values(tools).map(display).join(" | "),
      inputs,
      measurements: Object.entries(samples).map(([name, xs]) => measurement(name, "MB/s", xs.map((x) => bytes / 1e6 / x.cpu))),
    }), result({
      id: "peak-rss",
      title: "ato verify peak memory",
      better: "lower",
      command: `${display(tools["ato verify"]!)} (${rss.how})`,
      inputs: { log_mb: Math.round(bytes / 1e6) },
      measurements: [measurement("ato verify", "MiB", [rss.mib])],
    }));
    s.notes.push("every tool reads the same files from the page cache (read once before the rounds); each run is a fresh process (the compiled binary starts cold)");
    s.notes.push(`process start of ${display(ATO)} (verify --help): ${startup.toFixed(3)} s, included in ato verify's time`);
    if (hashPath) s.notes.push(hashPath);
    return s.finish();
  } finally {
    if (!reuse) rmSync(dir, { recursive: true, force: true });
    token?.cleanup();
  }
}

await runSection("verify", TITLE, main);

function build(token: Awaited<ReturnType<typeof createToken>>, auditDir: string, pubkeyPath: string, target: number): { lines: number; seconds: number } {
  const signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
  Bun.write(pubkeyPath, spkiToPem(signer.publicKeySpkiDer()));
  const log = EvidenceLog.open({ auditDir, signer, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {} });
  const t0 = performance.now();
  let i = 0;
  while (log.counters().bytes < target) {
    log.appendRecords("flow", Array.from({ length: 500 }, () => flow(i++)));
  }
  log.close();
  return { lines: log.status().treeSize, seconds: (performance.now() - t0) / 1000 };
}

function flow(i: number) {
  // A realistic masked flow record: ~230 bytes per line.
  return { family: 4, proto: i % 3 === 0 ? 17 : 6, src: `198.18.${i % 256}.0/24`, dst: `198.19.${(i >> 8) % 256}.0/24`, vlan: 0, packets: 1 + (i % 977), bytes: 64 * (1 + (i % 977)), first_seen: 1_700_000_000_000 + i, last_seen: 1_700_000_000_500 + i, tcp_flags: 0x18, ifindex: 2 };
}

interface Sample {
  wall: number;
  /** user + system CPU seconds of the child. */
  cpu: number;
  /** 1-minute load average just before the run. */
  load: number;
}

function timed(cmd: string[], expectCode = 0): Sample {
  const load = loadavg()[0]!;
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  const wall = (performance.now() - t0) / 1000;
  if (r.exitCode !== expectCode) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  const cpu = r.resourceUsage ? Number(r.resourceUsage.cpuTime.total) / 1e6 : wall;
  return { wall, cpu, load };
}

function loadText(xs: Sample[]): string {
  const l = xs.map((x) => x.load).sort((a, b) => a - b);
  return `${l[0]!.toFixed(2)}..${l.at(-1)!.toFixed(2)} (median ${median(l).toFixed(2)}) on ${cpus().length} CPUs`;
}

/** Peak RSS in MiB: GNU time's "Maximum resident set size", or polling /proc/PID/status (VmHWM). */
function peakRss(cmd: string[]): { mib: number; how: string } {
  const r = Bun.spawnSync(["/usr/bin/time", "-v", ...cmd], { stdout: "ignore", stderr: "pipe" });
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr.toString());
  if (m) return { mib: Number(m[1]) / 1024, how: "/usr/bin/time -v" };
  const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  let hwm = 0;
  while (p.exitCode === null) {
    try {
      const v = /VmHWM:\s+(\d+) kB/.exec(require("node:fs").readFileSync(`/proc/${p.pid}/status`, "utf8"));
      if (v) hwm = Math.max(hwm, Number(v[1]));
    } catch {
      break;
    }
    Bun.sleepSync(5);
  }
  return { mib: hwm / 1024, how: "/proc/PID/status VmHWM polling" };
}

function report(r: { bytes: number; lines: number; files: number; buildSeconds: number; samples: Record<string, Sample[]>; startup: number; rss: { mib: number; how: string }; hashPath?: string }) {
  const mb = r.bytes / 1e6;
  const med = (xs: Sample[], k: "wall" | "cpu" | "load") => median(xs.map((x) => x[k]));
  const peer = r.samples["openssl dgst -sha256"]!;
  if (r.lines) console.log(`log: ${mb.toFixed(1)} MB, ${r.lines} lines, ${r.files} files (built in ${r.buildSeconds.toFixed(1)} s, ${(r.lines / r.buildSeconds).toFixed(0)} lines/s)`);
  else console.log(`log: ${mb.toFixed(1)} MB, ${r.files} files (given with --log)`);
  console.log(`tool (median of ${rounds})          wall s  MB/s wall  × openssl    CPU s  MB/s CPU  × openssl   load avg`);
  for (const [name, xs] of Object.entries(r.samples)) {
    const w = med(xs, "wall"), c = med(xs, "cpu");
    console.log(`${name.padEnd(26)} ${w.toFixed(3).padStart(7)} ${(mb / w).toFixed(0).padStart(10)} ${(med(peer, "wall") / w).toFixed(2).padStart(10)} ${c.toFixed(3).padStart(8)} ${(mb / c).toFixed(0).padStart(9)} ${(med(peer, "cpu") / c).toFixed(2).padStart(10)} ${med(xs, "load").toFixed(2).padStart(10)}`);
  }
  const net = med(r.samples["ato verify"]!, "wall") - r.startup;
  console.log(`process start of ato (verify --help): ${r.startup.toFixed(3)} s; ato verify without it: ${(mb / net).toFixed(0)} MB/s`);
  console.log(`peak RSS of ato verify: ${r.rss.mib.toFixed(1)} MiB (${r.rss.how})`);
  if (r.hashPath) console.log(r.hashPath);
}
