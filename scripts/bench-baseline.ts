#!/usr/bin/env bun
/**
 * What Bun's baseline build (`--target=bun-linux-x64-baseline`, meant for older CPUs) costs ato's
 * hot paths against the default build, the two binaries side by side, rounds taking
 * turns, medians and ratios (baseline ÷ default):
 *   - process start: `ato version`;
 *   - `ato verify` on a signed evidence log of about MB megabytes (SoftHSM Ed25519 key);
 *   - the record path in the binary's own runtime (BUN_BE_BUN=1 runs this file with it):
 *     RFC 8785 canonical encoding of flow records, parsing them back, RFC 9162 leaf hashes
 *     and the Merkle frontier, and the TypeScript masking reference.
 * The NASM masking routine is the same file in both binaries (it picks SSE2 or AVX2 by CPUID),
 * so it is not compared here (scripts/bench-mask.ts measures it).
 *
 * The baseline binary is built here, into a temporary directory, from the same source as
 * dist/ato (bun fetches the target's runtime, @oven/bun-linux-x64-baseline, from npm once).
 * What it found (README, "Kernels and CPUs proven"): the baseline runtime of this Bun needs
 * SSE4.2 and POPCNT just as the default one does, so it runs on no CPU the default cannot; with
 * nothing to gain, the project ships the default build alone.
 *
 *   bun scripts/bench-baseline.ts [MB] [--rounds N] [--quick] [--json PATH]   # default 100 MB; --quick 5 MB
 *   (needs dist/ato: bash scripts/build.sh)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const WORKER = "--worker";

if (process.argv[2] === WORKER) {
  await worker(Number(process.argv[3]));
} else {
  await main();
}

/** The record path, timed inside whichever runtime runs this file. Prints one JSON line. */
async function worker(n: number) {
  const { encodeRecord, parseRecord } = await import("../src/evidence/record.ts");
  const { hashLeaf } = await import("../src/tree/hash.ts");
  const { appendLeaf, frontierRoot } = await import("../src/tree/frontier.ts");
  const { maskBatchReference } = await import("../src/mask/reference.ts");
  const records = Array.from({ length: n }, (_, i) => ({ v: 1, seq: i, ts: "2026-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: flow(i) }));
  const enc = new TextEncoder();
  const time = (f: () => void) => { const t0 = performance.now(); f(); return (performance.now() - t0) / 1000; };
  let lines: string[] = [];
  const encode = time(() => { lines = records.map(encodeRecord); });
  const parse = time(() => { for (const l of lines) parseRecord(l); });
  const tree = time(() => {
    let frontier: Uint8Array[] = [];
    for (let i = 0; i < lines.length; i++) frontier = appendLeaf(frontier, i, hashLeaf(enc.encode(lines[i]!)));
    frontierRoot(frontier);
  });
  const slots = new Uint8Array(16 * n).map((_, i) => (i * 37) & 0xff);
  const sel = new Uint8Array(n).map((_, i) => i & 1);
  const masks = new Uint8Array(32).fill(0xff);
  const mask = time(() => maskBatchReference(slots, sel, masks, n));
  console.log(JSON.stringify({ encode: n / encode, parse: n / parse, tree: n / tree, mask: n / mask }));
}

function flow(i: number) {
  // A masked flow record as the collector writes it: ~230 bytes per line.
  return { family: 4, proto: i % 3 === 0 ? 17 : 6, src: `198.18.${i % 256}.0/24`, dst: `198.19.${(i >> 8) % 256}.0/24`, vlan: 0, packets: 1 + (i % 977), bytes: 64 * (1 + (i % 977)), first_seen: 1_700_000_000_000 + i, last_seen: 1_700_000_000_500 + i, tcp_flags: 0x18, ifindex: 2 };
}

async function main() {
  const { benchArgs, measurement, median, result } = await import("./bench-lib.ts");
  const args = benchArgs();
  const mb = Number(args.positional[0] ?? (args.quick ? 5 : 100));
  const rounds = args.number("rounds", args.quick ? 2 : 5);
  const records = args.quick ? 20_000 : 200_000;
  const repo = resolve(import.meta.dir, "..");
  const def = `${repo}/dist/ato`;
  if (!existsSync(def)) throw new Error(`${def} not found: bash scripts/build.sh`);
  const binDir = mkdtempSync(join(tmpdir(), "bench-baseline-bin-"));
  const bins = { default: def, baseline: join(binDir, "ato-baseline") };
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repo }).stdout.toString().trim() || "unknown";
  const b = Bun.spawnSync(["bun", "build", "src/main.ts", "src/metrics/worker.ts", "src/verify/hash-worker.ts", "--compile", "--target=bun-linux-x64-baseline", "--outfile", bins.baseline,
    "--define", `ATO_COMMIT="${commit}"`], { cwd: repo, stdout: "ignore", stderr: "pipe" });
  if (b.exitCode !== 0) {
    rmSync(binDir, { recursive: true, force: true });
    throw new Error(`building the baseline binary failed: ${b.stderr}`);
  }
  const started = Date.now();

  const { EvidenceLog } = await import("../src/log/index.ts");
  const { openSigner, spkiToPem } = await import("../src/signer/index.ts");
  const { createToken } = await import("../test/support/softhsm.ts");
  const token = await createToken({ keyType: "ed25519" });
  const dir = mkdtempSync(join(tmpdir(), "bench-baseline-"));
  try {
    const pubkey = join(token.dir, "public.pem");
    const signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
    await Bun.write(pubkey, spkiToPem(signer.publicKeySpkiDer()));
    const log = EvidenceLog.open({ auditDir: dir, signer, checkpointEvery: 1000, checkpointIntervalMs: 0, appendOnly: false, onWarning: () => {} });
    for (let i = 0; log.counters().bytes < mb * 1e6;) log.appendRecords("flow", Array.from({ length: 500 }, () => flow(i++)));
    log.close();
    const bytes = readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);

    const samples: Record<string, Record<string, number[]>> = {};
    const add = (what: string, bin: string, x: number) => ((samples[what] ??= {})[bin] ??= []).push(x);
    for (let r = 0; r < rounds; r++) {
      for (const [name, bin] of Object.entries(bins)) {
        add("start", name, timed([bin, "version"]));
        add("verify", name, bytes / 1e6 / timed([bin, "verify", dir, "--pubkey", pubkey]));
        const w = Bun.spawnSync([bin, "run", import.meta.path, WORKER, String(records)], { env: { ...process.env, BUN_BE_BUN: "1" }, stderr: "pipe" });
        if (w.exitCode !== 0) throw new Error(`worker under ${bin} exited ${w.exitCode}: ${w.stderr}`);
        const rates = JSON.parse(w.stdout.toString()) as Record<string, number>;
        for (const [k, v] of Object.entries(rates)) add(k, name, v);
      }
    }

    const rows: [string, string, string, "lower" | "higher"][] = [
      ["start", "process start (ato version)", "s", "lower"],
      ["verify", `ato verify, ${Math.round(bytes / 1e6)} MB log`, "MB/s", "higher"],
      ["encode", "canonical JSON encoding of flow records", "records/s", "higher"],
      ["parse", "parsing records back", "records/s", "higher"],
      ["tree", "leaf hash + Merkle frontier", "records/s", "higher"],
      ["mask", "TypeScript masking reference", "addresses/s", "higher"],
    ];
    console.log(`Bun's baseline build against the default build, median of ${rounds} rounds, ${records} records per round`);
    console.log(`${"path".padEnd(44)} ${"default".padStart(12)} ${"baseline".padStart(12)}  baseline ÷ default`);
    const results = rows.map(([id, title, unit, better]) => {
      const d = median(samples[id]!.default!), b = median(samples[id]!.baseline!);
      const fmt = (x: number) => (x >= 1000 ? x.toExponential(3) : x.toFixed(3));
      console.log(`${`${title} (${unit})`.padEnd(44)} ${fmt(d).padStart(12)} ${fmt(b).padStart(12)}  ${(b / d).toFixed(3)}×`);
      return result({ id, title, better, command: `bun build --compile --target=bun-linux-x64-baseline beside dist/ato: ${id}`, inputs: { rounds, records, log_mb: Math.round(bytes / 1e6) },
        measurements: [measurement("baseline", unit, samples[id]!.baseline!), measurement("default", unit, samples[id]!.default!)] });
    });
    const jsonPath = args.json;
    if (jsonPath) {
      const section = { section: "baseline", title: "Bun baseline build against the default build", command: args.command, quick: args.quick,
        startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, status: "ok", results, notes: [] };
      writeFileSync(jsonPath, JSON.stringify({ schema: "ato-bench/1", sections: [section] }, null, 2));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(binDir, { recursive: true, force: true });
    token.cleanup();
  }
}

function timed(cmd: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  const s = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return s;
}
