/**
 * The one JSON shape every benchmark writes, and the few helpers they share.
 *
 * A bench script takes `--quick` (a small smoke run) and `--json PATH`; with `--json` it writes
 * one `BenchFile` there: one or more sections (bench-agent.ts writes two: "map-reading" and
 * "agent"). `scripts/bench` runs every script, reads their files and merges the sections into
 * one `BenchRun` (bench-results/<timestamp>/results.json), a table and a chart.
 *
 *   interface BenchFile   { schema: "ato-bench/1"; sections: SectionReport[] }
 *   interface SectionReport {
 *     section: SectionId; title: string;
 *     command: string;                 // the command line that produced it
 *     quick: boolean; startedAt: string; seconds: number;
 *     status: "ok" | "could not run"; reason?: string;   // reason: why there are no figures
 *     results: Result[]; notes: string[];
 *   }
 *   interface Result {
 *     id: string; title: string;       // id unique in its section, e.g. "ns-per-packet/ipv4-tcp"
 *     better: "lower" | "higher";      // which direction is better for every measurement in it
 *     command: string;                 // what was run or timed for it
 *     inputs: Record<string, string | number | boolean>;
 *     repetitions: number;             // samples per measurement
 *     measurements: Measurement[];     // [0] is ato's (the subject); the others are baselines or peers
 *     ratios: Ratio[];                 // subject median ÷ each other median
 *     unavailable: { contender: string; reason: string }[];   // a peer that could not run, and why
 *   }
 *   interface Measurement { contender: string; unit: string; median: number; samples: number[] }
 *   interface Ratio { subject: string; baseline: string; ratio: number }
 *
 * results.json is a `BenchRun`: { schema, command, quick, startedAt, seconds, host, loadAverage,
 * sections } with every section of SECTIONS, in that order, each with figures or a reason.
 *
 * Ratios are always subject ÷ baseline of the medians; `better` says whether above 1 is good
 * ("higher": records/s, share counted) or bad ("lower": ns/packet, seconds, MiB). Absolute figures
 * come from a noisy 2-core VM: they are shown, never asserted.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";

export const SCHEMA = "ato-bench/1";

export const SECTIONS = ["kernel", "peers", "evidence", "verify", "mask", "map-reading", "agent", "metrics", "witness", "analytics"] as const;
export type SectionId = (typeof SECTIONS)[number];

export interface Measurement { contender: string; unit: string; median: number; samples: number[] }
export interface Ratio { subject: string; baseline: string; ratio: number }

export interface Result {
  id: string;
  title: string;
  better: "lower" | "higher";
  command: string;
  inputs: Record<string, string | number | boolean>;
  repetitions: number;
  measurements: Measurement[];
  ratios: Ratio[];
  unavailable: { contender: string; reason: string }[];
}

export interface SectionReport {
  section: SectionId;
  title: string;
  command: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
  status: "ok" | "could not run";
  reason?: string;
  results: Result[];
  notes: string[];
}

export interface BenchFile { schema: typeof SCHEMA; sections: SectionReport[] }

export interface Host { cpu: string; cores: number; kernel: string; bun: string; memoryMiB: number }

/** What `scripts/bench` writes: every section, in SECTIONS order, each with figures or a reason. */
export interface BenchRun {
  schema: typeof SCHEMA;
  command: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
  host: Host;
  /** 1-minute load average at the start and the end: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  sections: SectionReport[];
}

/** The middle value (upper middle for an even count): robust to one slow outlier. */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error("median of no samples");
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export function measurement(contender: string, unit: string, samples: number[]): Measurement {
  return { contender, unit, median: median(samples), samples };
}

/** A result whose ratios are computed from the medians: measurements[0] ÷ each of the others. */
export function result(r: Omit<Result, "ratios" | "unavailable" | "repetitions"> & { unavailable?: Result["unavailable"] }): Result {
  const [subject, ...others] = r.measurements;
  if (!subject) throw new Error(`result ${r.id}: no measurements`);
  const ratios = others.filter((m) => m.median !== 0).map((m) => ({ subject: subject.contender, baseline: m.contender, ratio: subject.median / m.median }));
  return { ...r, repetitions: subject.samples.length, ratios, unavailable: r.unavailable ?? [] };
}

/** Flags that take no value; every other `--NAME` takes the argument after it. */
const SWITCHES = new Set(["--quick"]);

/** `--quick`, `--json PATH`, `--NAME VALUE` lookups and the positional arguments of this process. */
export function benchArgs(argv = process.argv.slice(2)) {
  const positional = argv.filter((a, i) => !a.startsWith("--") && (i === 0 || !argv[i - 1]!.startsWith("--") || SWITCHES.has(argv[i - 1]!)));
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    return v;
  };
  return {
    quick: argv.includes("--quick"),
    json: value("json"),
    positional,
    value,
    number(name: string, fallback: number): number {
      const v = value(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(v)}`);
      return n;
    },
    /** The command line as a reader would retype it. */
    command: ["bun", ...process.argv.slice(1).map((a) => a.replace(/^.*\/scripts\//, "scripts/"))].join(" "),
  };
}

/** Starts a section's clock; `finish` stamps its duration. */
export function section(id: SectionId, title: string, command: string, quick: boolean) {
  const started = Date.now();
  const results: Result[] = [];
  const notes: string[] = [];
  return {
    results,
    notes,
    finish(): SectionReport {
      return { section: id, title, command, quick, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, status: "ok", results, notes };
    },
  };
}

/**
 * A bench script's last step: its section from `main`, or "could not run" with the error's
 * message when main throws (exit code 1); `cleanup` runs either way; written to --json PATH.
 */
export async function runSection(
  id: SectionId, title: string, main: () => SectionReport | Promise<SectionReport>, cleanup?: () => unknown,
): Promise<void> {
  const args = benchArgs();
  let report: SectionReport;
  try {
    report = await main();
  } catch (e) {
    console.error(`bench ${id}: ${(e as Error).stack ?? e}`);
    report = couldNotRun(id, title, args.command, args.quick, (e as Error).message);
    process.exitCode = 1;
  } finally {
    await cleanup?.();
  }
  if (args.json) writeBenchFile(args.json, [report]);
}

export function couldNotRun(id: SectionId, title: string, command: string, quick: boolean, reason: string): SectionReport {
  return { section: id, title, command, quick, startedAt: new Date().toISOString(), seconds: 0, status: "could not run", reason, results: [], notes: [] };
}

export function writeBenchFile(path: string, sections: SectionReport[]): void {
  const file: BenchFile = { schema: SCHEMA, sections };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Reads a bench file and checks its shape; throws with what was wrong. */
export function readBenchFile(path: string): BenchFile {
  const file = JSON.parse(readFileSync(path, "utf8")) as BenchFile;
  if (file?.schema !== SCHEMA || !Array.isArray(file.sections)) throw new Error(`${path}: not an ${SCHEMA} file (schema ${JSON.stringify(file?.schema)})`);
  for (const s of file.sections) {
    if (!SECTIONS.includes(s.section)) throw new Error(`${path}: unknown section ${JSON.stringify(s.section)}`);
    if (s.status === "ok" && !Array.isArray(s.results)) throw new Error(`${path}: section ${s.section} has no results array`);
    if (s.status !== "ok" && !s.reason) throw new Error(`${path}: section ${s.section} could not run but gives no reason`);
  }
  return file;
}

export function hostInfo(): Host {
  let cpu = "unknown CPU", memoryMiB = 0;
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
    memoryMiB = Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024);
  } catch { /* not Linux: the names stay unknown */ }
  return { cpu, cores: cpus().length, kernel: release(), bun: Bun.version, memoryMiB };
}
