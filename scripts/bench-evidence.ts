#!/usr/bin/env bun
/**
 * Evidence throughput, side by side in one run on the same SoftHSM token:
 *
 *   ato      flow records through masking (one NASM call per batch), canonical JSON, the
 *            Merkle tree and the append-only log, with one signed checkpoint per 1000 records
 *            (synced at each checkpoint): written as bytes from the key-sorted template, what
 *            `ato run`'s collector does; and as objects through canonicalize(), as other records are;
 *   per-record  each record hashed and signed through PKCS#11 on its own, the signature
 *            appended with it.
 *
 *   bun scripts/bench-evidence.ts [RECORDS] [--rounds N] [--quick] [--json PATH]
 * Reports records/s for each (median of the rounds, alternating) and the ratio.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { createToken } from "../test/support/softhsm.ts";
import { KernelClock } from "../src/collector/index.ts";
import type { Growth } from "../src/collector/baseline.ts";
import { IsoTimes, StringCache, writeFlowData } from "../src/collector/flow-line.ts";
import { benchArgs, runSection, measurement, median, result, section } from "./bench-lib.ts";

const args = benchArgs();
const records = Number(args.positional[0] ?? (args.quick ? 5_000 : 50_000));
const rounds = args.number("rounds", 3);
const BATCH = 1000;
const TITLE = "Evidence throughput: checkpointed log beside signing every record";

const dirs: string[] = [];
let token: Awaited<ReturnType<typeof createToken>> | undefined;
let masker: Masker | undefined;
let signerOpts: Parameters<typeof openSigner>[0];

function flows(n: number, base: number) {
  return Array.from({ length: n }, (_, i) => {
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    src.set([198, 18, (base + i) >> 8 & 255, (base + i) & 255]);
    dst.set([198, 19, i >> 8 & 255, i & 255]);
    return { family: 4 as const, src, dst, proto: 6, sport: 40000 + (i % 20000), dport: 443 };
  });
}

function body(m: { src: string; dst: string }, i: number) {
  return { family: 4, proto: 6, ...m, iface: "eth0", packets: 10 + (i % 7), bytes: 1500 * (i % 9), packets_total: 100, bytes_total: 9000, first_seen: "2026-11-23T00:00:00.000Z", last_seen: "2026-11-23T00:00:01.000Z", tcp_flags: 0x18 };
}

function runAto(): number {
  const dir = mkdtempSync("/tmp/ato-bench-evidence-");
  dirs.push(dir);
  const log = EvidenceLog.open({ auditDir: dir, signer: openSigner(signerOpts), checkpointEvery: BATCH, checkpointIntervalMs: 0, appendOnly: false });
  const t0 = performance.now();
  for (let done = 0; done < records; done += BATCH) {
    const masked = masker!.maskFlows(flows(Math.min(BATCH, records - done), done));
    log.appendRecords("flow", masked.map(body));
  }
  log.checkpoint("shutdown");
  const s = (performance.now() - t0) / 1000;
  log.close();
  return records / s;
}

/** The collector's path: the same flows as runAto (in pieces up to each checkpoint), each record's bytes written from the key-sorted template (EvidenceLog.appendBodies). */
function runAtoBytes(): number {
  const dir = mkdtempSync("/tmp/ato-bench-evidence-");
  dirs.push(dir);
  const log = EvidenceLog.open({ auditDir: dir, signer: openSigner(signerOpts), checkpointEvery: BATCH, checkpointIntervalMs: 0, appendOnly: false });
  const clock = new KernelClock();
  const times = new IsoTimes(clock), strings = new StringCache();
  const t0 = performance.now();
  for (let done = 0, n = 0; done < records; done += n) {
    n = Math.min(log.roomBeforeCheckpoint(), records - done); // the collector's chunks end at the next checkpoint
    const fs = flows(n, done);
    const masked = masker!.maskFlows(fs);
    const part: Growth[] = fs.map((f, i) => ({
      f: { key: { ...f, vlan: 0, vlanInner: 0, ifindex: 1 }, rawKey: EMPTY_KEY, counts: { packets: 100n, bytes: 9000n, firstSeenNs: BEGAN, lastSeenNs: BEGAN + 1_000_000_000n, tcpFlags: 0x18, fragments: 0, timingFlags: 0, spikes: 0 } },
      d: { packets: 10 + (i % 7), bytes: 1500 * (i % 9), fragments: 0 }, reason: "active",
    }));
    log.appendBodies("flow", part.length, (i, w) => writeFlowData(w, part[i]!, masked[i]!, "eth0", times, strings));
  }
  log.checkpoint("shutdown");
  const s = (performance.now() - t0) / 1000;
  log.close();
  return records / s;
}
const EMPTY_KEY = new Uint8Array(48);
const BEGAN = 1_000_000_000_000n;

function runPerRecord(): number {
  const dir = mkdtempSync("/tmp/ato-bench-evidence-");
  dirs.push(dir);
  const signer = openSigner(signerOpts);
  const t0 = performance.now();
  for (let done = 0; done < records; done += BATCH) {
    const masked = masker!.maskFlows(flows(Math.min(BATCH, records - done), done));
    let out = "";
    masked.forEach((m, i) => {
      const line = JSON.stringify(body(m, i));
      const sig = signer.sign(createHash("sha256").update(line).digest());
      out += `${line} ${Buffer.from(sig).toString("base64")}\n`;
    });
    appendFileSync(`${dir}/signed_evidence.log`, out);
  }
  const s = (performance.now() - t0) / 1000;
  signer.close();
  return records / s;
}

async function main() {
  const s = section("evidence", TITLE, args.command, args.quick);
  token = await createToken({ keyType: "ed25519" });
  signerOpts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
  masker = Masker.open({});
  const a: number[] = [], b: number[] = [], p: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(runAto());
    b.push(runAtoBytes());
    p.push(runPerRecord());
  }
  console.log(`evidence throughput, ${records} flow records, median of ${rounds} alternating rounds, SoftHSM ed25519`);
  console.log(`  ato (batch mask, Merkle tree, checkpoint per ${BATCH}): ${Math.round(median(a)).toLocaleString()} records/s (records as objects, canonicalize)`);
  console.log(`  ato, the collector's path (records written as bytes):    ${Math.round(median(b)).toLocaleString()} records/s`);
  console.log(`  sign every record through PKCS#11:              ${Math.round(median(p)).toLocaleString()} records/s`);
  console.log(`  ratio: ${(median(a) / median(p)).toFixed(1)}x (objects), ${(median(b) / median(p)).toFixed(1)}x (bytes)`);
  s.results.push(result({
    id: "records-per-s",
    title: "flow records/s to a signed, synced log",
    better: "higher",
    command: `ato: Masker.maskFlows + EvidenceLog.appendRecords per ${BATCH}, checkpoint signed and synced per ${BATCH}; per-record: SHA-256 + C_Sign per record, appended per ${BATCH}`,
    inputs: { records, batch: BATCH, token: "SoftHSM Ed25519", rounds },
    measurements: [
      measurement(`ato, records as bytes (the collector's path; checkpoint per ${BATCH})`, "records/s", b),
      measurement(`ato, records as objects through canonicalize (checkpoint per ${BATCH})`, "records/s", a),
      measurement("sign every record (per-record HSM signing)", "records/s", p),
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
