#!/usr/bin/env bun
/**
 * Evidence throughput, side by side in one run on the same SoftHSM token, interleaved round
 * by round (so the machine's load falls on all of them alike):
 *
 *   ato          the collector's path (Collector.write): a DueChunk of 256 flows as columns
 *                masked in one NASM call, each record's bytes written by ChunkWriter (the
 *                agent's record writer) into one buffer, leaf hashes, the Merkle frontier, one
 *                append per chunk or piece of it, a signed checkpoint per 1000 records
 *                whose line follows the fdatasync of what it covers (group commit: the sync
 *                runs on the thread pool while the next chunk is encoded);
 *   ato, sync    the same without group commit: each count checkpoint waits for its sync;
 *   ato, objects records as objects through canonicalize() (appendRecords), as non-flow records go;
 *   per-record   each record hashed and signed through PKCS#11 on its own (the peer);
 *   floor        the bytes ato wrote, written in the same chunks with one SHA-256 per chunk and
 *                one fdatasync per 1000 records: no masking, no JSON, no tree, no signature.
 *
 * The input flows (as the collector holds them: chunks of columns, and as objects for the
 * contenders that take objects) are built before the clock starts. For each:
 * records/s over wall time, and CPU seconds (user + system of the whole process, the thread
 * pool's syncs included) per million records. Load average at the start and the end.
 *
 *   bun scripts/bench-evidence.ts [RECORDS] [--rounds N] [--quick] [--json PATH]
 */
import { createHash } from "node:crypto";
import { appendFileSync, closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker, type FlowAddresses } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { KernelClock } from "../src/collector/index.ts";
import type { Growth } from "../src/collector/baseline.ts";
import { DueChunk } from "../src/collector/chunk.ts";
import { ChunkWriter } from "../src/collector/chunk-line.ts";
import { IsoTimes } from "../src/collector/flow-line.ts";
import { encodeKey } from "../src/kernel/index.ts";
import { benchArgs, runSection, measurement, median, result, section } from "./bench-lib.ts";

const args = benchArgs();
const records = Number(args.positional[0] ?? (args.quick ? 20_000 : 100_000));
const rounds = args.number("rounds", args.quick ? 3 : 5);
const EVERY = 1000;
const CHUNK = 256; // the collector's chunk (src/collector/collector.ts)
const TITLE = "Evidence throughput: mask, record, hash, append, checkpoint, beside signing every record and a floor";

const dirs: string[] = [];
let token: Awaited<ReturnType<typeof createToken>> | undefined;
let masker: Masker | undefined;
let signerOpts: Parameters<typeof openSigner>[0];

const BEGAN = 1_000_000_000_000n;

/**
 * The flows as the collector holds them when it writes records: chunks of CHUNK flows as
 * columns (raw key, counts, growth: what Collector.cycle fills as it reads the map), and the
 * same flows as addresses and Growth objects for the contenders that take objects.
 */
function inputFlows(n: number): { addrs: FlowAddresses[]; growth: Growth[]; chunks: DueChunk[] } {
  const addrs: FlowAddresses[] = [], growth: Growth[] = [], chunks: DueChunk[] = [];
  for (let i = 0; i < n; i++) {
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    src.set([198, 18, (i >> 8) & 255, i & 255]);
    dst.set([198, 19, (i >> 16) & 255, (i >> 4) & 255]);
    const a = { family: 4 as const, src, dst, proto: 6, sport: 40000 + (i % 20000), dport: 443 };
    addrs.push(a);
    growth.push({
      f: { key: { ...a, vlan: 0, vlanInner: 0, ifindex: 1 }, rawKey: encodeKey({ ...a, vlan: 0, vlanInner: 0, ifindex: 1 }), counts: { packets: 100n, bytes: 9000n, firstSeenNs: BEGAN + BigInt(i % 1000) * 1_000_000n, lastSeenNs: BEGAN + 1_000_000_000n, tcpFlags: 0x18, fragments: 0, timingFlags: 0, spikes: 0 } },
      d: { packets: 10 + (i % 7), bytes: 1500 * (i % 9), fragments: 0 }, reason: "active",
    } as Growth);
    if (i % CHUNK === 0) chunks.push(new DueChunk(CHUNK));
    chunks.at(-1)!.addGrowth(growth[i]!);
  }
  return { addrs, growth, chunks };
}

interface Run { rate: number; cpuPerM: number; dir: string }

function timed(dir: string, body: () => void): Run;
function timed(dir: string, body: () => Promise<void>): Promise<Run>;
function timed(dir: string, body: () => void | Promise<void>): Run | Promise<Run> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const done = (): Run => {
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { rate: records / s, cpuPerM: ((c.user + c.system) / 1e6) * (1e6 / records), dir };
  };
  const r = body();
  return r instanceof Promise ? r.then(done) : done();
}

function newDir(): string {
  const dir = mkdtempSync("/tmp/ato-bench-evidence-");
  dirs.push(dir);
  return dir;
}

/**
 * The collector's path (src/collector/collector.ts write()): each chunk masked at once, then
 * appended in pieces that stay within the room before the next checkpoint, its records written
 * by ChunkWriter; a yield to the event loop after each chunk (flushChunk).
 */
async function runAto(input: ReturnType<typeof inputFlows>, groupCommit: boolean): Promise<Run> {
  const dir = newDir();
  const log = EvidenceLog.open({ auditDir: dir, signer: openSigner(signerOpts), checkpointEvery: EVERY, checkpointIntervalMs: 0, appendOnly: false, groupCommit });
  const writer = new ChunkWriter(masker!, CHUNK, new IsoTimes(new KernelClock()));
  return timed(dir, async () => {
    for (const c of input.chunks) {
      writer.mask(c);
      for (let at = 0; at < c.n; ) {
        const n = Math.min(c.n - at, log.roomBeforeCheckpoint()), from = at;
        log.appendTexts("flow", n, (i) => writer.text(c, from + i, "eth0"));
        at += n;
      }
      await new Promise((r) => setImmediate(r));
    }
    log.close(); // the shutdown checkpoint, synced
  });
}

function body(m: { src: string; dst: string }, g: Growth) {
  return { family: 4, proto: 6, ...m, iface: "eth0", packets: g.d.packets, bytes: g.d.bytes, packets_total: 100, bytes_total: 9000, first_seen: "2026-11-23T00:00:00.000Z", last_seen: "2026-11-23T00:00:01.000Z", reason: "active", tcp_flags: 0x18 };
}

/** Records as objects through canonicalize (EvidenceLog.appendRecords), one batch per checkpoint. */
function runObjects(input: ReturnType<typeof inputFlows>): Run {
  const dir = newDir();
  const log = EvidenceLog.open({ auditDir: dir, signer: openSigner(signerOpts), checkpointEvery: EVERY, checkpointIntervalMs: 0, appendOnly: false, groupCommit: true });
  return timed(dir, () => {
    for (let done = 0; done < records; done += EVERY) {
      const masked = masker!.maskFlows(input.addrs.slice(done, done + EVERY));
      log.appendRecords("flow", masked.map((m, i) => body(m, input.growth[done + i]!)));
    }
    log.close();
  });
}

function runPerRecord(input: ReturnType<typeof inputFlows>, n: number): Run {
  const dir = newDir();
  const signer = openSigner(signerOpts);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < n; done += EVERY) {
    const masked = masker!.maskFlows(input.addrs.slice(done, Math.min(n, done + EVERY)));
    let out = "";
    masked.forEach((m, i) => {
      const line = JSON.stringify(body(m, input.growth[done + i]!));
      const sig = signer.sign(createHash("sha256").update(line).digest());
      out += `${line} ${Buffer.from(sig).toString("base64")}\n`;
    });
    appendFileSync(`${dir}/signed_evidence.log`, out);
  }
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  signer.close();
  return { rate: n / s, cpuPerM: ((c.user + c.system) / 1e6) * (1e6 / n), dir };
}

/** The bytes of an ato run, written again in its chunks: one SHA-256 per chunk, one fdatasync per 1000 records. */
function runFloor(bytes: Uint8Array): Run {
  const dir = newDir();
  const ends: number[] = [];
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) ends.push(at + 1);
  return timed(dir, () => {
    const fd = openSync(join(dir, "floor.log"), "a");
    let start = 0;
    for (let line = CHUNK; line - CHUNK < ends.length; line += CHUNK) {
      const end = ends[Math.min(line, ends.length) - 1]!;
      const chunk = bytes.subarray(start, end);
      Bun.SHA256.hash(chunk);
      writeSync(fd, chunk);
      if (line % EVERY < CHUNK || line >= ends.length) fdatasyncSync(fd);
      start = end;
    }
    closeSync(fd);
  });
}

async function main() {
  const s = section("evidence", TITLE, args.command, args.quick);
  token = await createToken({ keyType: "ed25519" });
  signerOpts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
  masker = Masker.open({});
  const input = inputFlows(records);
  const perRecordN = Math.min(records, args.quick ? 2_000 : 5_000); // 2.5 k/s: a bounded sample
  const load = { start: loadavg()[0]!, end: 0 };
  const runs: Record<"gc" | "sync" | "objects" | "perRecord" | "floor", Run[]> = { gc: [], sync: [], objects: [], perRecord: [], floor: [] };
  await runAto(input, true); // warm-up (JIT), not counted
  // Each round runs every contender once, starting one further along each time, so none always
  // follows the same neighbour (a fresh file's first syncs, another run's freed blocks).
  const contenders: (() => Promise<void>)[] = [
    async () => {
      const gc = await runAto(input, true);
      runs.gc.push(gc);
      runs.floor.push(runFloor(readFileSync(join(gc.dir, "signed_evidence.log"))));
    },
    async () => void runs.sync.push(await runAto(input, false)),
    async () => void runs.objects.push(runObjects(input)),
    async () => void runs.perRecord.push(runPerRecord(input, perRecordN)),
  ];
  for (let r = 0; r < rounds; r++) for (let k = 0; k < contenders.length; k++) await contenders[(r + k) % contenders.length]!();
  load.end = loadavg()[0]!;
  const rate = (k: keyof typeof runs) => median(runs[k].map((x) => x.rate));
  const cpu = (k: keyof typeof runs) => median(runs[k].map((x) => x.cpuPerM));
  const row = (label: string, k: keyof typeof runs) => console.log(`  ${label.padEnd(58)} ${Math.round(rate(k)).toLocaleString().padStart(9)} records/s  ${cpu(k).toFixed(2).padStart(6)} CPU s per M records`);
  console.log(`evidence throughput, ${records.toLocaleString()} flow records (per-record signing: ${perRecordN.toLocaleString()}), median of ${rounds} interleaved rounds, SoftHSM Ed25519, load average ${load.start.toFixed(2)} -> ${load.end.toFixed(2)}`);
  row(`ato (bytes, group commit, checkpoint per ${EVERY})`, "gc");
  row("ato (bytes, each count checkpoint waits for its sync)", "sync");
  row("ato (records as objects through canonicalize)", "objects");
  row("sign every record through PKCS#11 (peer)", "perRecord");
  row(`floor (same bytes, SHA-256 per chunk, fdatasync per ${EVERY})`, "floor");
  console.log(`  ratios: ato / per-record ${(rate("gc") / rate("perRecord")).toFixed(1)}x, ato / floor ${(rate("gc") / rate("floor")).toFixed(2)}x; CPU per record ato / floor ${(cpu("gc") / cpu("floor")).toFixed(1)}x`);
  s.results.push(result({
    id: "records-per-s",
    title: "flow records/s to a signed, synced log",
    better: "higher",
    command: `ato: ChunkWriter (Masker.maskSlots) + EvidenceLog.appendTexts per ${CHUNK}-record chunk (group commit), checkpoint signed per ${EVERY} after the fdatasync of what it covers; per-record: SHA-256 + C_Sign per record; floor: the same bytes, SHA-256 per chunk, fdatasync per ${EVERY}`,
    inputs: { records, perRecordRecords: perRecordN, checkpointEvery: EVERY, chunk: CHUNK, token: "SoftHSM Ed25519", rounds, loadStart: Number(load.start.toFixed(2)), loadEnd: Number(load.end.toFixed(2)) },
    measurements: [
      measurement("ato, records as bytes, group commit (the collector's path)", "records/s", runs.gc.map((x) => x.rate)),
      measurement("sign every record (per-record HSM signing)", "records/s", runs.perRecord.map((x) => x.rate)),
      measurement("floor: same bytes, SHA-256 + fdatasync, no structure", "records/s", runs.floor.map((x) => x.rate)),
      measurement("ato, records as bytes, count checkpoints wait for their sync", "records/s", runs.sync.map((x) => x.rate)),
      measurement("ato, records as objects through canonicalize", "records/s", runs.objects.map((x) => x.rate)),
    ],
  }));
  s.results.push(result({
    id: "cpu-per-m-records",
    title: "CPU seconds (user + system, whole process) per million flow records",
    better: "lower",
    command: "process.cpuUsage() around each run",
    inputs: { records, rounds },
    measurements: [
      measurement("ato, records as bytes, group commit", "CPU s / M records", runs.gc.map((x) => x.cpuPerM)),
      measurement("sign every record (per-record HSM signing)", "CPU s / M records", runs.perRecord.map((x) => x.cpuPerM)),
      measurement("floor: same bytes, SHA-256 + fdatasync", "CPU s / M records", runs.floor.map((x) => x.cpuPerM)),
    ],
  }));
  s.results.push(await signingLatency());
  return s.finish();
}

/** Milliseconds per signature of a checkpoint-sized body, `n` times through PKCS#11. */
function signTimes(t: NonNullable<typeof token>, n: number): number[] {
  const signer = openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel });
  const body = new TextEncoder().encode(`example.org/ato\n123456\n${"A".repeat(44)}\n`);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = Bun.nanoseconds();
      signer.sign(body);
      times.push((Bun.nanoseconds() - t0) / 1e6);
    }
  } finally {
    signer.close();
  }
  return times;
}

/**
 * What every checkpoint waits for: one signature, Ed25519 (the default key) beside ECDSA P-256.
 * One after the other, not interleaved: SoftHSM reads its token directory once per module
 * load, so the P-256 token (its own directory) is made after the Ed25519 one is done with.
 */
async function signingLatency() {
  const n = args.quick ? 50 : 200;
  const ed = signTimes(token!, n);
  const other = await createToken({ keyType: "ecdsa-p256" });
  let p256: number[];
  try {
    p256 = signTimes(other, n);
  } finally {
    other.cleanup();
  }
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;
  console.log(`  checkpoint signature, median / p99 of ${n}: Ed25519 ${median(ed).toFixed(3)} / ${p99(ed).toFixed(3)} ms, ECDSA P-256 ${median(p256).toFixed(3)} / ${p99(p256).toFixed(3)} ms`);
  return result({
    id: "sign-latency",
    title: "one checkpoint signature through PKCS#11 (SoftHSM)",
    better: "lower",
    command: "CheckpointSigner.sign(checkpoint body) — C_SignInit + C_Sign",
    inputs: { signs: n, order: "Ed25519 first, then P-256 (one token directory per module load)", p99_ed25519_ms: Number(p99(ed).toFixed(3)), p99_p256_ms: Number(p99(p256).toFixed(3)) },
    measurements: [measurement("Ed25519", "ms", ed), measurement("ECDSA P-256", "ms", p256)],
  });
}

await runSection("evidence", TITLE, main, async () => {
  masker?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  token?.cleanup();
});
