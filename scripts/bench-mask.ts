#!/usr/bin/env bun
/**
 * Masking throughput: the NASM routines (one FFI call per batch) against the TypeScript reference, on batches
 * of 1 thousand, 64 thousand and 1 million addresses (IPv4 and IPv6 mixed, /24 and /48), in one run.
 * Each figure is the median of several repetitions; a repetition masks at least REP_ADDRESSES addresses.
 * Then the product path: Masker.maskFlows on batches of flows as the collector hands them over (2,048 flows,
 * IPv4 and IPv6 mixed, default policy: /24 and /48, no ports kept), strings out, with the NASM routine and with
 * the TypeScript reference in its place (the rest of the path unchanged).
 *
 *   bash scripts/build.sh   (or just the nasm + gcc lines for dist/lib/libatomask.so)
 *   bun scripts/bench-mask.ts [--quick] [--json PATH]
 */
import { MaskLibrary } from "../ffi/mask.ts";
import { Masker, type FlowAddresses } from "../src/mask/index.ts";
import { maskTable } from "../src/mask/prefix.ts";
import { maskBatchReference } from "../src/mask/reference.ts";
import { benchArgs, runSection, hostInfo, measurement, median, result, section, type SectionReport } from "./bench-lib.ts";

const args = benchArgs();
const SIZES = [1_000, 64_000, 1_000_000];
const REPETITIONS = args.quick ? 3 : 9;
const REP_ADDRESSES = args.quick ? 1_000_000 : 4_000_000;
const TITLE = "Masking: NASM SIMD routine beside the TypeScript path";

type Batch = (slots: Uint8Array, sel: Uint8Array, masks: Uint8Array) => void;

/**
 * Addresses per second of each of `batches` over a batch of `n` random addresses, one figure
 * per repetition; the repetitions take turns (all batches, then again), so drift hits each alike.
 */
function measure(batches: Batch[], n: number): number[][] {
  const slots = new Uint8Array(n * 16);
  crypto.getRandomValues(slots.subarray(0, Math.min(slots.length, 65536)));
  for (let off = 65536; off < slots.length; off += 65536) slots.copyWithin(off, 0, Math.min(65536, slots.length - off));
  const sel = Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 31); // a mixed, irregular pattern
  const masks = maskTable(24, 48);
  const calls = Math.max(1, Math.ceil(REP_ADDRESSES / n));
  const rates: number[][] = batches.map(() => []);
  for (let rep = -1; rep < REPETITIONS; rep++) {
    batches.forEach((batch, i) => {
      const start = Bun.nanoseconds();
      for (let c = 0; c < calls; c++) batch(slots, sel, masks);
      const seconds = (Bun.nanoseconds() - start) / 1e9;
      if (rep >= 0) rates[i]!.push((n * calls) / seconds); // rep -1 warms up the JIT and the caches
    });
  }
  return rates;
}

const fmt = (rate: number) => `${(rate / 1e6).toFixed(1)} M/s`;

/** The collector's chunk (src/collector/collector.ts): the flows masked in one call. */
const FLOW_BATCH = 2048;
const REP_FLOWS = args.quick ? 100_000 : 400_000;

/** Flows as the collector reads them from flow keys: random addresses in 16-byte slots, half IPv6. */
function flowBatch(n: number): FlowAddresses[] {
  return Array.from({ length: n }, (_, i) => {
    const family = (i * 2654435761) >>> 31 ? 6 : 4;
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    crypto.getRandomValues(src.subarray(0, family === 4 ? 4 : 16));
    crypto.getRandomValues(dst.subarray(0, family === 4 ? 4 : 16));
    return { family, src, dst, proto: i % 3 ? 6 : 17, sport: 1024 + (i % 60000), dport: 443 } as FlowAddresses;
  });
}

/**
 * Flows per second through Masker.maskFlows, each masker in turn per repetition. The TypeScript masker is
 * the same Masker with its one masking call (maskSlots) going to maskBatchReference instead of NASM.
 */
function productPath(s: ReturnType<typeof section>, path: string): void {
  const nasm = Masker.open({});
  const ts = Masker.open({});
  const table = maskTable(ts.options.ipv4Prefix, ts.options.ipv6Prefix);
  ts.maskSlots = (slots, sel) => maskBatchReference(slots, sel, table);
  try {
    const flows = flowBatch(FLOW_BATCH);
    const same = JSON.stringify(nasm.maskFlows(flows)) === JSON.stringify(ts.maskFlows(flows));
    if (!same) throw new Error("the NASM and TypeScript maskers disagree on the same flows");
    const calls = Math.ceil(REP_FLOWS / FLOW_BATCH);
    const contenders: Array<[string, Masker]> = [[`Masker.maskFlows, NASM ${path} (product path)`, nasm], ["Masker.maskFlows, TypeScript masking", ts]];
    const rates: number[][] = contenders.map(() => []);
    for (let rep = -1; rep < REPETITIONS; rep++) {
      // The order flips each repetition, so the garbage one leaves is collected during the other as often.
      const order = rep % 2 ? [1, 0] : [0, 1];
      for (const i of order) {
        const m = contenders[i]![1];
        const start = Bun.nanoseconds();
        for (let c = 0; c < calls; c++) m.maskFlows(flows);
        if (rep >= 0) rates[i]!.push((FLOW_BATCH * calls) / ((Bun.nanoseconds() - start) / 1e9));
      }
    }
    console.log(`\nproduct path: Masker.maskFlows, ${FLOW_BATCH} flows per call (2 addresses each), flows/s (median of ${REPETITIONS})`);
    contenders.forEach(([name], i) => console.log(`  ${name.padEnd(48)} ${fmt(median(rates[i]!)).padStart(10)}`));
    console.log(`  NASM ÷ TypeScript: ${(median(rates[0]!) / median(rates[1]!)).toFixed(2)}x`);
    s.results.push(result({
      id: `flows-per-s/masker-${FLOW_BATCH}`,
      title: `Masker.maskFlows, ${FLOW_BATCH.toLocaleString("en")} flows per call`,
      better: "higher",
      command: "Masker.maskFlows (default policy) on the collector's chunk of flows, NASM beside the TypeScript reference in its masking call",
      inputs: { flows_per_call: FLOW_BATCH, flows_per_repetition: calls * FLOW_BATCH, ipv4_prefix: 24, ipv6_prefix: 48, mix: "IPv4 and IPv6, irregular", keep_ports: "none" },
      measurements: contenders.map(([name], i) => measurement(name, "flows/s", rates[i]!)),
    }));
  } finally {
    nasm.close();
    ts.close();
  }
}

function main(): SectionReport {
  const s = section("mask", TITLE, args.command, args.quick);
  const auto = MaskLibrary.open();
  const paths: Array<[string, MaskLibrary]> = [["sse2", MaskLibrary.open({ simd: "sse2" })]];
  if (auto.avx2Available) paths.push(["avx2", MaskLibrary.open({ simd: "avx2" })]);
  // The product path first: it is what ato runs, and the ratios are about it.
  paths.sort(([a], [b]) => Number(b === auto.path) - Number(a === auto.path));
  try {
    console.log(`masking throughput, addresses/s (median of ${REPETITIONS}); ${hostInfo().cpu}; Bun ${Bun.version}`);
    console.log(`product path (ato_mask_batch): ${auto.path}`);
    console.log(["addresses".padStart(10), "TypeScript".padStart(12), ...paths.map(([name]) => `${name} (x TS)`.padStart(22))].join("  "));
    for (const n of SIZES) {
      const [ts, ...simd] = measure([maskBatchReference, ...paths.map(([, lib]): Batch => (sl, sel, m) => lib.maskBatch(sl, sel, m))], n) as [number[], ...number[][]];
      console.log([n.toLocaleString("en").padStart(10), fmt(median(ts)).padStart(12), ...simd.map((r) => `${fmt(median(r))} (${(median(r) / median(ts)).toFixed(1)}x)`.padStart(22))].join("  "));
      s.results.push(result({
        id: `addresses-per-s/${n}`,
        title: `masking ${n.toLocaleString("en")} addresses per call`,
        better: "higher",
        command: "ato_mask_batch_<path> through bun:ffi (one call per batch) vs maskBatchReference (src/mask/reference.ts)",
        inputs: { batch_addresses: n, addresses_per_repetition: Math.max(1, Math.ceil(REP_ADDRESSES / n)) * n, ipv4_prefix: 24, ipv6_prefix: 48, mix: "IPv4 and IPv6, irregular" },
        measurements: [
          ...paths.map(([name], i) => measurement(`NASM ${name}${name === auto.path ? " (product path)" : ""}`, "addresses/s", simd[i]!)),
          measurement("TypeScript", "addresses/s", ts),
        ],
      }));
    }
    productPath(s, auto.path);
  } finally {
    for (const lib of [auto, ...paths.map(([, lib]) => lib)]) lib.close();
  }
  s.notes.push(`product path chosen by CPUID: ${auto.path}; each repetition after one warm-up pass`);
  return s.finish();
}

await runSection("mask", TITLE, main);
