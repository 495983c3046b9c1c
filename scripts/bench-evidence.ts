#!/usr/bin/env bun
/**
 * Evidence throughput, side by side in one run on the same SoftHSM token:
 *
 *   ato      flow records through masking (one NASM call per batch), canonical JSON, the
 *            Merkle tree and the append-only log, with one signed checkpoint per 1000 records
 *            (synced at each checkpoint) — what `ato run` does;
 *   per-record  the seeds' dispatcher: each record hashed and signed through PKCS#11 on its
 *            own, the signature appended with it.
 *
 *   bun scripts/bench-evidence.ts [RECORDS] [--rounds N]
 * Reports records/s for each (median of the rounds, alternating) and the ratio.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { EvidenceLog } from "../src/log/index.ts";
import { Masker } from "../src/mask/index.ts";
import { openSigner } from "../src/signer/index.ts";
import { createToken } from "../test/support/softhsm.ts";

const args = process.argv.slice(2);
const records = Number(args.find((a) => /^\d+$/.test(a)) ?? 50_000);
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 3) || 3;
const BATCH = 1000;

const token = await createToken({ keyType: "ed25519" });
const signerOpts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
const masker = Masker.open({});
const dirs: string[] = [];

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
    const masked = masker.maskFlows(flows(Math.min(BATCH, records - done), done));
    log.appendRecords("flow", masked.map(body));
  }
  log.checkpoint("shutdown");
  const s = (performance.now() - t0) / 1000;
  log.close();
  return records / s;
}

function runPerRecord(): number {
  const dir = mkdtempSync("/tmp/ato-bench-evidence-");
  dirs.push(dir);
  const signer = openSigner(signerOpts);
  const t0 = performance.now();
  for (let done = 0; done < records; done += BATCH) {
    const masked = masker.maskFlows(flows(Math.min(BATCH, records - done), done));
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const a: number[] = [], p: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(runAto());
    p.push(runPerRecord());
  }
  console.log(`evidence throughput, ${records} flow records, median of ${rounds} alternating rounds, SoftHSM ed25519`);
  console.log(`  ato (batch mask, Merkle tree, checkpoint per ${BATCH}): ${Math.round(median(a)).toLocaleString()} records/s`);
  console.log(`  sign every record through PKCS#11:              ${Math.round(median(p)).toLocaleString()} records/s`);
  console.log(`  ratio: ${(median(a) / median(p)).toFixed(1)}x`);
} finally {
  masker.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await token.cleanup();
}
