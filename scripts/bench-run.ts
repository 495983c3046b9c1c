#!/usr/bin/env bun
/**
 * What `scripts/bench` runs: every bench script in turn, each as its own process with
 * `--json FILE` (and `--quick`), then one table (printed, results.md, and summary.md in the
 * README's shorter form), one results.json and one chart.svg.
 *
 * A script that fails, times out or writes no JSON (or not every section it owes) still gets its
 * sections in the results, as "could not run" with the reason: nothing is dropped silently.
 *
 *   bun scripts/bench-run.ts [--quick] [--out DIR] [--only kernel,peers,...]
 *
 * Exit status: 0 every section has figures; 3 the results were written but some section could
 * not run; 1 the runner itself failed.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { benchArgs, couldNotRun, hostInfo, readBenchFile, SCHEMA, SECTIONS, type BenchRun, type SectionId, type SectionReport } from "./bench-lib.ts";
import { chartSvg } from "./bench-chart.ts";
import { markdownTable, summaryMarkdown, textTable } from "./bench-report.ts";

interface Step { script: string; sections: SectionId[]; titles: string[]; limitS: number; quickLimitS: number }

/** Order: cheap and kernel-only first, the lab-heavy ones later; limits keep a hung script from eating the budget. */
const STEPS: Step[] = [
  { script: "bench-kernel.ts", sections: ["kernel"], titles: ["Per-packet cost in the kernel (BPF_PROG_TEST_RUN)"], limitS: 180, quickLimitS: 60 },
  { script: "bench-mask.ts", sections: ["mask"], titles: ["Masking: NASM SIMD routine beside the TypeScript path"], limitS: 120, quickLimitS: 60 },
  { script: "bench-evidence.ts", sections: ["evidence"], titles: ["Evidence throughput: checkpointed log beside signing every record"], limitS: 240, quickLimitS: 60 },
  { script: "bench-verify.ts", sections: ["verify"], titles: ["Verification: ato verify beside sha256sum and openssl dgst"], limitS: 300, quickLimitS: 60 },
  { script: "bench-peers.ts", sections: ["peers"], titles: ["Capture completeness against peers (trafgen over a veth)"], limitS: 2400, quickLimitS: 120 },
  { script: "bench-agent.ts", sections: ["map-reading", "agent"], titles: ["Map reading: batch lookups beside key-by-key", "Agent footprint"], limitS: 480, quickLimitS: 150 },
  { script: "bench-metrics.ts", sections: ["metrics"], titles: ["/metrics under wrk: the agent beside a static Bun.serve floor"], limitS: 180, quickLimitS: 90 },
  { script: "bench-witness.ts", sections: ["witness"], titles: ["Witnesses: cosignature latency, witness throughput, agent CPU"], limitS: 240, quickLimitS: 90 },
  { script: "bench-analytics.ts", sections: ["analytics"], titles: ["Analytics: IPFIX export rate and nfcapd's share, detector CPU, tracing overhead"], limitS: 240, quickLimitS: 90 },
];

const args = benchArgs();
const root = resolve(import.meta.dir, "..");
const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z");
const out = resolve(args.value("out") ?? `${root}/bench-results/${stamp}`);
const only = args.value("only")?.split(",");
if (only) for (const o of only) if (!SECTIONS.includes(o as SectionId)) throw new Error(`--only: unknown section ${o}; sections: ${SECTIONS.join(", ")}`);

/** The script running now: its own process group, so a stop here must be passed on to it. */
let current: number | undefined;
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    stopping = true;
    console.error(`bench: ${sig}: stopping the running script (it cleans up after itself), then exiting`);
    const group = current;
    if (!group) process.exit(130);
    try { process.kill(-group, "SIGTERM"); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-group, "SIGKILL"); } catch { /* gone */ } }, 15_000).unref();
  });
}

/** Runs one script with a time limit, its output shown live and kept in logs/; returns its sections. */
async function runStep(step: Step): Promise<SectionReport[]> {
  const json = `${out}/raw/${step.script.replace(/\.ts$/, ".json")}`;
  const log = `${out}/logs/${step.script.replace(/\.ts$/, ".log")}`;
  const argv = ["bun", `scripts/${step.script}`, ...(args.quick ? ["--quick"] : []), "--json", json];
  const command = argv.join(" ").replace(`${out}/`, "<out>/");
  const limit = args.quick ? step.quickLimitS : step.limitS;
  console.log(`\n== ${command}  (limit ${limit} s)`);
  const fail = (reason: string) => step.sections.map((id, i) => couldNotRun(id, step.titles[i]!, command, args.quick, reason));
  if (!existsSync(`${root}/scripts/${step.script}`)) return fail(`scripts/${step.script} does not exist`);

  const proc = Bun.spawn(argv, { cwd: root, stdout: "pipe", stderr: "pipe", detached: true });
  current = proc.pid;
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>, to: NodeJS.WriteStream) => {
    for await (const c of s) { const t = new TextDecoder().decode(c); text += t; to.write(t.replace(/^(?=.)/gm, "   ")); }
  };
  const pumped = Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The whole process group: the script's own children (trafgen, agents) go with it. SIGTERM
    // first, so its cleanup (namespaces, pins, temp dirs) runs; SIGKILL if that hangs.
    try { process.kill(-proc.pid, "SIGTERM"); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-proc.pid, "SIGKILL"); } catch { /* gone */ } }, 15_000).unref();
  }, limit * 1000);
  const code = await proc.exited;
  current = undefined;
  clearTimeout(timer);
  await pumped;
  writeFileSync(log, text);
  const lastLine = text.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim().slice(0, 300) ?? "";
  if (timedOut) return fail(`timed out after ${limit} s (${command}); last output: ${lastLine}`);
  if (!existsSync(json)) return fail(`no JSON written by ${command} (exit code ${code}${lastLine ? `; last output: ${lastLine}` : ""})`);
  let file;
  try {
    file = readBenchFile(json);
  } catch (e) {
    return fail((e as Error).message);
  }
  return step.sections.map((id, i) => file.sections.find((s) => s.section === id)
    ?? couldNotRun(id, step.titles[i]!, command, args.quick, `${step.script} wrote ${json.replace(`${out}/`, "<out>/")} without a "${id}" section (exit code ${code})`));
}

async function main(): Promise<number> {
  mkdirSync(`${out}/raw`, { recursive: true });
  mkdirSync(`${out}/logs`, { recursive: true });
  const started = Date.now();
  const load0 = loadavg()[0]!;
  const got = new Map<SectionId, SectionReport>();
  for (const step of STEPS) {
    if (only && !step.sections.some((s) => only.includes(s))) continue;
    const sections = await runStep(step);
    if (stopping) throw new Error("interrupted");
    for (const s of sections) got.set(s.section, s);
  }
  const run: BenchRun = {
    schema: SCHEMA,
    command: `scripts/bench${args.quick ? " --quick" : ""}${only ? ` --only ${only.join(",")}` : ""}`,
    quick: args.quick,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    host: hostInfo(),
    loadAverage: { start: load0, end: loadavg()[0]! },
    sections: SECTIONS.filter((id) => got.has(id)).map((id) => got.get(id)!),
  };
  writeFileSync(`${out}/results.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(`${out}/results.md`, `${markdownTable(run)}\n`);
  writeFileSync(`${out}/summary.md`, `${summaryMarkdown(run)}\n`);
  writeFileSync(`${out}/chart.svg`, chartSvg(run));
  console.log(textTable(run));
  console.log(`\n${run.command}: ${run.seconds.toFixed(0)} s on ${run.host.cores} cores (${run.host.cpu}, kernel ${run.host.kernel}), load average ${run.loadAverage.start.toFixed(2)} at the start, ${run.loadAverage.end.toFixed(2)} at the end`);
  console.log(`results: ${out}/results.json, results.md (every result), summary.md (the README's form), chart.svg; each script's output under logs/`);
  return run.sections.every((s) => s.status === "ok") ? 0 : 3;
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = stopping ? 130 : 1;
}
