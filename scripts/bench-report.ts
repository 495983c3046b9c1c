/**
 * The one table of a bench run, as text for the terminal and as Markdown for the README: one row
 * per result, ato's median first, then each baseline or peer with the ratio of the medians.
 */
import type { BenchRun, Measurement, Result, SectionReport } from "./bench-lib.ts";

/** 1234567 → "1.23 M", 0.4312 → "0.431": three significant figures, SI prefixes from 10 000 up. */
export function num(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)} G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)} k`;
  if (a >= 100 || v === 0 || Number.isInteger(v)) return String(Math.round(v));
  return v.toPrecision(3);
}

const value = (m: Measurement) => `${num(m.median)} ${m.unit}`;

/** 4.7712 → "4.77×", 16.93 → "16.9×", 412.3 → "412×". */
export function ratioText(ratio: number): string {
  const x = ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2);
  return `${x}×`;
}

interface Row { section: string; result: string; ato: string; others: string; ratios: string; reps: string }

function rows(run: BenchRun): Row[] {
  const out: Row[] = [];
  for (const s of run.sections) {
    if (s.status !== "ok") {
      out.push({ section: s.section, result: s.title, ato: "could not run", others: s.reason ?? "", ratios: "", reps: "" });
      continue;
    }
    for (const r of s.results) out.push(resultRow(s, r));
  }
  return out;
}

function resultRow(s: SectionReport, r: Result): Row {
  const [subject, ...others] = r.measurements;
  const missing = r.unavailable.map((u) => `${u.contender}: could not run (${u.reason})`);
  return {
    section: s.section,
    result: `${r.title} (${r.better} is better)`,
    ato: subject ? `${subject.contender}: ${value(subject)}` : "—",
    others: [...others.map((m) => `${m.contender}: ${value(m)}`), ...missing].join("; "),
    ratios: r.ratios.map((x) => `${ratioText(x.ratio)} ${x.baseline}`).join("; "),
    reps: String(r.repetitions),
  };
}

export function markdownTable(run: BenchRun): string {
  const esc = (t: string) => t.replace(/\|/g, "\\|");
  const lines = ["| section | result | ato | baselines and peers | ato ÷ each (medians) | reps |", "|---|---|---|---|---|---|"];
  for (const r of rows(run)) lines.push(`| ${[r.section, r.result, r.ato, r.others, r.ratios, r.reps].map(esc).join(" | ")} |`);
  return lines.join("\n");
}

/** A plain-text table, each section under its own heading; long cells wrap onto following lines. */
export function textTable(run: BenchRun): string {
  const out: string[] = [];
  for (const s of run.sections) {
    out.push("", `${s.section}: ${s.title}${s.status === "ok" ? `  (${s.seconds.toFixed(0)} s)` : ""}`);
    if (s.status !== "ok") {
      out.push(`  could not run: ${s.reason}`);
      continue;
    }
    for (const r of s.results) {
      const row = resultRow(s, r);
      out.push(`  ${row.result} [${row.reps} reps]`, `      ${row.ato}`);
      if (row.others) out.push(`      vs ${row.others}`);
      if (row.ratios) out.push(`      ato ÷ each: ${row.ratios}`);
    }
  }
  return out.join("\n");
}

/**
 * The README's short form: the peers as one row per rate (each tool side by side), then every
 * other comparison as one row. Figures come straight from the run; nothing is rounded by hand.
 */
export function summaryMarkdown(run: BenchRun): string {
  const out: string[] = [];
  const peers = run.sections.find((s) => s.section === "peers");
  if (peers?.status === "ok") out.push(peersTable(peers), "");
  const lines = ["| result | ato | beside | ato ÷ each | reps |", "|---|---|---|---|---|"];
  for (const s of run.sections) {
    if (s.section === "peers") continue;
    if (s.status !== "ok") { lines.push(`| ${s.section}: ${s.title} | could not run: ${s.reason} | | | |`); continue; }
    for (const r of s.results) {
      const [subject, ...others] = r.measurements;
      lines.push(`| ${s.section}: ${r.title} (${r.better} is better) | ${subject ? `${subject.contender}: ${value(subject)}` : "—"} | ${others.map((m) => `${m.contender}: ${value(m)}`).join("; ")} | ${r.ratios.map((x) => ratioText(x.ratio)).join("; ")} | ${r.repetitions} |`);
    }
  }
  out.push(lines.join("\n"));
  return out.join("\n");
}

function peersTable(s: SectionReport): string {
  const rates = [...new Set(s.results.filter((r) => r.id.startsWith("packets/")).map((r) => r.id.slice("packets/".length)))];
  const get = (kind: string, rate: string) => s.results.find((r) => r.id === `${kind}/${rate}`);
  const tools = get("packets", rates[0]!)?.measurements.map((m) => m.contender) ?? [];
  const cell = (kind: string, rate: string) => tools.map((t) => {
    const m = get(kind, rate)?.measurements.find((x) => x.contender === t);
    return m ? num(m.median) : "—";
  }).join(" · ");
  const head = `| rate requested | trafgen reached, packets/s | packets accounted for, % | IP bytes accounted for, % | process CPU, s per M packets | machine softirq, s per M packets |`;
  const rows = rates.map((rate) => `| ${rate === "max" ? "as fast as it can" : `${rate} pps`} | ${cell("rate", rate)} | ${cell("packets", rate)} | ${cell("bytes", rate)} | ${cell("cpu", rate)} | ${cell("softirq", rate)} |`);
  const reps = get("packets", rates[0]!)?.repetitions ?? 0;
  return [`Each cell: ${tools.join(" · ")}; median of ${reps} runs each.`, "", head, "|---|---|---|---|---|---|", ...rows].join("\n");
}
