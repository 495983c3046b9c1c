#!/usr/bin/env bun
/**
 * Witnesses: what c2sp.org/tlog-witness costs ato, measured on loopback.
 *
 *   cosignature latency   a real evidence log (SoftHSM signer) submitting each checkpoint to two
 *                         `ato witness serve` processes: checkpoint written → cosignature line
 *                         appended, per witness, p50 and p99; beside a bare HTTP round trip to
 *                         the same witness (GET /healthz), the floor of any answer.
 *   witness throughput    one `ato witness serve` with 100 logs: add-checkpoint requests with
 *                         real proofs and signatures, 16 in flight, checkpoints cosigned per
 *                         second; beside the same requests refused at the old-size check (409:
 *                         parse and log signature, no proof, no fsync, no cosignature).
 *   agent CPU             user+system CPU of the log's process per checkpoint with the submitter
 *                         (two witnesses) beside without, rounds interleaved.
 *
 *   bun scripts/bench-witness.ts [--quick] [--json PATH]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { EvidenceLog } from "../src/log/index.ts";
import { openSigner, spkiToPem } from "../src/signer/index.ts";
import { Submitter, parseWitnessTarget } from "../src/witness/submit/index.ts";
import { createToken, type TestToken } from "../test/support/softhsm.ts";
import { TestLog } from "../test/witness/_log.ts";
import { WitnessProcess } from "../test/witness/_witness.ts";
import { benchArgs, measurement, result, runSection, section } from "./bench-lib.ts";
import { writeFileSync } from "node:fs";

const args = benchArgs();
const TITLE = "Witnesses: cosignature latency, witness throughput, agent CPU";
const tmp = mkdtempSync("/tmp/ato-bench-witness-");
const procs: WitnessProcess[] = [];
let token: TestToken | undefined;

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

/** `ato witness init` and `ato witness serve` on the host's loopback. */
async function witness(name: string, logs: string[]): Promise<{ url: string; vkey: string }> {
  const state = join(tmp, name);
  const init = Bun.spawnSync(["bun", `${import.meta.dir}/../src/main.ts`, "witness", "init", "--state", state, "--name", `bench.witness/${name}`], { stdout: "pipe", stderr: "pipe" });
  if (init.exitCode !== 0) throw new Error(`ato witness init: ${init.stderr}`);
  const w = await WitnessProcess.start(null, state, logs);
  procs.push(w);
  return { url: w.url, vkey: init.stdout.toString().trim() };
}

function openLog(dir: string, onCheckpoint?: (c: Parameters<NonNullable<Parameters<typeof EvidenceLog.open>[0]["onCheckpoint"]>>[0]) => void, origin = "ato/bench/witness") {
  const t = token!;
  const signer = openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel });
  return EvidenceLog.open({ auditDir: dir, signer, origin, checkpointIntervalMs: 0, checkpointEvery: 1 << 30, appendOnly: false, onWarning: () => {}, onCheckpoint });
}

function records(n: number, round: number) {
  return Array.from({ length: n }, (_, i) => ({ proto: 17, src: "198.18.0.0/24", dst: "198.18.1.0/24", packets: i + 1, bytes: 100 * (i + 1), round }));
}

async function main() {
  const s = section("witness", TITLE, args.command, args.quick);
  token = await createToken({ keyType: "ed25519" });
  const t = token;
  const pem = join(tmp, "log.pem");
  const probe = openSigner({ modulePath: t.modulePath, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel: t.keyLabel });
  writeFileSync(pem, spkiToPem(probe.publicKeySpkiDer()));
  probe.close();
  const origins = ["ato/bench/witness", "ato/bench/witness-off"];
  const a = await witness("a", origins.map((o) => `${o}=${pem}`));
  const b = await witness("b", origins.map((o) => `${o}=${pem}`));

  // 1 and 3: latency with two witnesses, and CPU with and without the submitter, interleaved.
  const rounds = args.quick ? 40 : 200;
  const perCheckpoint = 100;
  const latency: Record<string, number[]> = { a: [], b: [] };
  const cpu = { with: [] as number[], without: [] as number[] };
  let sent = 0;
  let submitter: Submitter | undefined;
  const withDir = join(tmp, "with");
  const log = openLog(withDir, (c) => submitter?.onCheckpoint(c));
  submitter = new Submitter({
    auditDir: withDir, witnesses: [a, b].map((w) => parseWitnessTarget(`${w.url}=${w.vkey}`)), registry: new Registry(), warn: (m) => console.error(m),
    append: (k, d) => {
      if (k === "cosignature") latency[(d as { witness: string }).witness.endsWith("/a") ? "a" : "b"]!.push(performance.now() - sent);
      log.appendRecord(k, d as unknown as Record<string, unknown>);
    },
  });
  const plain = openLog(join(tmp, "without"), undefined, origins[1]);
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? (["with", "without"] as const) : (["without", "with"] as const)) {
      const target = mode === "with" ? log : plain;
      const c0 = process.cpuUsage();
      target.appendRecords("flow", records(perCheckpoint, r));
      sent = performance.now();
      target.checkpoint("manual");
      if (mode === "with" && !(await submitter.drain(10_000))) throw new Error("a witness did not answer within 10 s");
      const c1 = process.cpuUsage(c0);
      cpu[mode].push((c1.user + c1.system) / 1000);
    }
  }
  submitter.stop();
  log.close();
  plain.close();
  const rtt: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await (await fetch(`${a.url}/healthz`)).text();
    rtt.push(performance.now() - t0);
  }
  const both = latency.a!.map((x, i) => Math.max(x, latency.b![i] ?? x));
  console.log(`  cosignature latency, both witnesses: p50 ${measurement("", "", both).median.toFixed(2)} ms, p99 ${p99(both).toFixed(2)} ms (${both.length} checkpoints)`);
  s.results.push(result({
    id: "cosignature-latency", title: "checkpoint → cosignature line, two witnesses on loopback (ms)", better: "lower",
    command: "EvidenceLog.checkpoint() → Submitter → POST /add-checkpoint to 2 × ato witness serve → cosignature appended",
    inputs: { checkpoints: both.length, records_per_checkpoint: perCheckpoint, p99_both_ms: Number(p99(both).toFixed(3)), p99_a_ms: Number(p99(latency.a!).toFixed(3)), p99_b_ms: Number(p99(latency.b!).toFixed(3)) },
    measurements: [measurement("both witnesses (slower of the two)", "ms", both), measurement("witness a", "ms", latency.a!), measurement("HTTP round trip, GET /healthz", "ms", rtt)],
  }));
  s.results.push(result({
    id: "agent-cpu", title: "CPU of the log's process per checkpoint of 100 records (ms)", better: "lower",
    command: "process.cpuUsage() around appendRecords(100) + checkpoint() [+ drain of the two witnesses' answers]",
    inputs: { rounds, records_per_checkpoint: perCheckpoint, order: "with/without alternating each round" },
    measurements: [measurement("with 2 witnesses", "ms CPU", cpu.with), measurement("without witnesses", "ms CPU", cpu.without)],
  }));

  // 2: one witness, 100 logs.
  const logCount = 100;
  const perLog = args.quick ? 5 : 20;
  const logs = Array.from({ length: logCount }, (_, i) => new TestLog(`ato/bench/log-${i}`));
  const specs = logs.map((l, i) => `${l.origin}=${l.writePem(join(tmp, `log-${i}.pem`))}`);
  const many = await witness("many", specs);
  const requests: string[][] = logs.map(() => []);
  const conflicts: string[] = [];
  for (let r = 0; r < perLog; r++) {
    logs.forEach((l, i) => {
      const from = l.size;
      l.grow(10 + r);
      requests[i]!.push(l.request(from));
      if (r === 0) conflicts.push(l.request(1)); // old size 1: never what the witness holds (0 at first, then 10 or more)
    });
  }
  const blast = async (bodies: string[][], expect: number) => {
    const t0 = performance.now();
    let wrong = 0;
    await Promise.all(Array.from({ length: 16 }, async (_, lane) => {
      for (let i = lane; i < bodies.length; i += 16) {
        for (const body of bodies[i]!) {
          const res = await fetch(`${many.url}/add-checkpoint`, { method: "POST", body });
          await res.text();
          if (res.status !== expect) wrong++;
        }
      }
    }));
    if (wrong) throw new Error(`${wrong} answers were not ${expect}`);
    return (bodies.flat().length / (performance.now() - t0)) * 1000;
  };
  await blast(conflicts.map((c) => [c]), 409); // warm-up: connections, JIT, page cache
  const cosignedRate = await blast(requests, 200);
  const refusedRate = await blast(conflicts.map((c) => [c]), 409);
  console.log(`  one witness, ${logCount} logs: ${cosignedRate.toFixed(0)} checkpoints/s cosigned, ${refusedRate.toFixed(0)}/s refused at the size check`);
  s.results.push(result({
    id: "witness-throughput", title: `checkpoints one witness cosigns per second, ${logCount} logs, 16 in flight`, better: "higher",
    command: "POST /add-checkpoint with proofs and Ed25519 log signatures to one ato witness serve (fsync per cosignature)",
    inputs: { logs: logCount, checkpoints_per_log: perLog, in_flight: 16 },
    measurements: [measurement("cosigned (200)", "checkpoints/s", [cosignedRate]), measurement("refused at the old-size check (409)", "requests/s", [refusedRate])],
  }));
  s.notes.push("Latency is measured from the checkpoint line's write to the cosignature line's append in the same process; the witnesses fsync their state before answering (ext4/overlay of this VM).");
  s.notes.push("Agent CPU counts only the log's process: the witnesses' own CPU is theirs, as it would be on their machines.");
  return s.finish();
}

await runSection("witness", TITLE, main, async () => {
  for (const p of procs) await p.kill("SIGTERM");
  await token?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});
