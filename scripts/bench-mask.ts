#!/usr/bin/env bun
/**
 * Masking throughput: the NASM routines (one FFI call per batch) against the TypeScript reference, on batches
 * of 1 thousand, 64 thousand and 1 million addresses (IPv4 and IPv6 mixed, /24 and /48), in one run.
 * Each figure is the median of several repetitions; a repetition masks at least REP_ADDRESSES addresses.
 *
 *   bash scripts/build.sh   (or just the nasm + gcc lines for dist/lib/libatomask.so)
 *   bun scripts/bench-mask.ts
 */
import { readFileSync } from "node:fs";
import { MaskLibrary } from "../ffi/mask.ts";
import { maskTable } from "../src/mask/prefix.ts";
import { maskBatchReference } from "../src/mask/reference.ts";

const SIZES = [1_000, 64_000, 1_000_000];
const REPETITIONS = 9;
const REP_ADDRESSES = 4_000_000;

type Batch = (slots: Uint8Array, sel: Uint8Array, masks: Uint8Array) => void;

/** Median addresses per second of `batch` over a batch of `n` random addresses. */
function measure(batch: Batch, n: number): number {
  const slots = new Uint8Array(n * 16);
  crypto.getRandomValues(slots.subarray(0, Math.min(slots.length, 65536)));
  for (let off = 65536; off < slots.length; off += 65536) slots.copyWithin(off, 0, Math.min(65536, slots.length - off));
  const sel = Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 31); // a mixed, irregular pattern
  const masks = maskTable(24, 48);
  const calls = Math.max(1, Math.ceil(REP_ADDRESSES / n));
  const rates: number[] = [];
  for (let rep = -1; rep < REPETITIONS; rep++) {
    const start = Bun.nanoseconds();
    for (let c = 0; c < calls; c++) batch(slots, sel, masks);
    const seconds = (Bun.nanoseconds() - start) / 1e9;
    if (rep >= 0) rates.push((n * calls) / seconds); // rep -1 warms up the JIT and the caches
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

const fmt = (rate: number) => `${(rate / 1e6).toFixed(1)} M/s`;

const auto = MaskLibrary.open();
const paths: Array<[string, MaskLibrary]> = [["sse2", MaskLibrary.open({ simd: "sse2" })]];
if (auto.avx2Available) paths.push(["avx2", MaskLibrary.open({ simd: "avx2" })]);

console.log(`masking throughput, addresses/s (median of ${REPETITIONS}); ${cpuModel()}; Bun ${Bun.version}`);
console.log(`product path (ato_mask_batch): ${auto.path}`);
console.log(["addresses".padStart(10), "TypeScript".padStart(12), ...paths.map(([name]) => `${name} (x TS)`.padStart(22))].join("  "));
for (const n of SIZES) {
  const ts = measure(maskBatchReference, n);
  const simd = paths.map(([, lib]) => measure((s, sel, m) => lib.maskBatch(s, sel, m), n));
  console.log(
    [n.toLocaleString("en").padStart(10), fmt(ts).padStart(12), ...simd.map((r) => `${fmt(r)} (${(r / ts).toFixed(1)}x)`.padStart(22))].join("  "),
  );
}
for (const lib of [auto, ...paths.map(([, lib]) => lib)]) lib.close();
