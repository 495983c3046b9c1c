/**
 * The chart of a bench run, as a self-contained SVG (no fonts or scripts fetched):
 *
 *   top left   share of the packets sent that each watcher accounted for, per rate (bench-peers);
 *   top right  process CPU seconds per million packets, per rate (bench-peers);
 *   below      every other comparison as "ato's advantage": the ratio of medians turned so that
 *              right of 1× is better for ato and left is worse (for "lower is better" figures the
 *              ratio is inverted), on a log scale; labels give the figure and the baseline.
 *
 * Sections that could not run are listed at the bottom with their reason.
 */
import type { BenchRun, Result, SectionReport } from "./bench-lib.ts";
import { num, ratioText } from "./bench-report.ts";

const W = 1000;
const COLORS: Record<string, string> = { ato: "#1f6feb", softflowd: "#d97706", pmacctd: "#7c3aed" };
const FALLBACK = ["#059669", "#dc2626", "#6b7280"];
const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const text = (x: number, y: number, t: string, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(t)}</text>`;

interface Series { name: string; values: (number | undefined)[] }

/** Grouped vertical bars: one group per category, one bar per series; y from 0 to `max`. */
function groupedBars(x0: number, y0: number, w: number, h: number, title: string, unit: string, cats: string[], series: Series[], max?: number): string {
  const out = [text(x0, y0 + 14, title, 'font-weight="bold"')];
  const top = y0 + 42, bottom = y0 + h - 34, left = x0 + 46, right = x0 + w - 8;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const ymax = max ?? niceMax(Math.max(...all, 1e-9));
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4, y = bottom - ((bottom - top) * i) / 4;
    out.push(`<line x1="${left}" x2="${right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e7eb"/>`, text(left - 4, y + 4, num(v), 'text-anchor="end" font-size="10"'));
  }
  out.push(text(left - 4, top - 10, unit, 'text-anchor="end" font-size="10" fill="#6b7280"'));
  const gw = (right - left) / Math.max(cats.length, 1), bw = Math.min(22, (gw - 10) / Math.max(series.length, 1));
  cats.forEach((c, ci) => {
    const gx = left + gw * ci + (gw - bw * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined) return;
      const bh = Math.max(((bottom - top) * Math.min(v, ymax)) / ymax, 0.5);
      out.push(`<rect x="${(gx + si * bw).toFixed(1)}" y="${(bottom - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${color(s.name, si)}"><title>${esc(`${s.name}, ${c}: ${num(v)} ${unit}`)}</title></rect>`);
    });
    out.push(text(left + gw * ci + gw / 2, bottom + 14, c, 'text-anchor="middle" font-size="11"'));
  });
  series.forEach((s, si) => {
    const lx = left + si * 110;
    out.push(`<rect x="${lx}" y="${bottom + 22}" width="10" height="10" fill="${color(s.name, si)}"/>`, text(lx + 14, bottom + 31, s.name, 'font-size="11"'));
  });
  return out.join("\n");
}

const color = (name: string, i: number) => COLORS[name] ?? FALLBACK[i % FALLBACK.length]!;

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? v;
}

/** The peers section's results with one id prefix, as series over its rates. */
function peerSeries(s: SectionReport, prefix: string): { cats: string[]; series: Series[]; unit: string } {
  const rs = s.results.filter((r) => r.id.startsWith(`${prefix}/`));
  const cats = rs.map((r) => r.id.slice(prefix.length + 1).replace(/^(\d+)k$/, "$1k pps").replace(/^max$/, "max rate"));
  const names = [...new Set(rs.flatMap((r) => r.measurements.map((m) => m.contender)))];
  const series = names.map((name) => ({ name, values: rs.map((r) => r.measurements.find((m) => m.contender === name)?.median) }));
  return { cats, series, unit: rs[0]?.measurements[0]?.unit ?? "" };
}

interface Bar { label: string; factor: number; detail: string }

/** ato's advantage for every ratio outside the peers section: > 1 better for ato, < 1 worse. */
function advantageBars(run: BenchRun): Bar[] {
  const bars: Bar[] = [];
  for (const s of run.sections) {
    if (s.status !== "ok" || s.section === "peers") continue;
    for (const r of s.results) for (const x of r.ratios) bars.push(advantage(s, r, x.baseline, x.ratio));
  }
  return bars;
}

function advantage(s: SectionReport, r: Result, baseline: string, ratio: number): Bar {
  const subject = r.measurements[0]!, other = r.measurements.find((m) => m.contender === baseline)!;
  const factor = r.better === "higher" ? ratio : 1 / ratio;
  const title = `${s.section}: ${r.title}`;
  return {
    label: title.length > 62 ? `${title.slice(0, 61)}…` : title,
    factor,
    detail: `vs ${baseline.replace(/ \(.*\)$/, "")}: ${num(subject.median)} vs ${num(other.median)} ${subject.unit} (${ratioText(ratio)})`,
  };
}

function advantagePanel(y0: number, bars: Bar[]): { svg: string; height: number } {
  const rowH = 20, top = y0 + 58, mid = 540, half = 130;
  const span = Math.max(2, ...bars.map((b) => Math.abs(Math.log10(b.factor)))); // decades each side
  const xOf = (f: number) => mid + (Math.log10(f) / span) * half;
  const out = [
    text(20, y0 + 14, "ato beside its baselines: ratio of medians, turned so that right of 1× is better for ato (log scale)", 'font-weight="bold"'),
    text(20, y0 + 28, "the first figure of each comparison beside each other one; kernel baselines are floors (programs that do nothing, or only count), so left of 1× is the cost of ato's parsing and accounting", 'font-size="10" fill="#6b7280"'),
    `<line x1="${mid}" x2="${mid}" y1="${top - 8}" y2="${top + rowH * bars.length}" stroke="#111827"/>`,
  ];
  for (let d = -Math.floor(span); d <= Math.floor(span); d++) {
    const x = xOf(10 ** d);
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top - 8}" y2="${top + rowH * bars.length}" stroke="#e5e7eb"/>`, text(x, top - 12, `${10 ** d}×`, 'text-anchor="middle" font-size="10"'));
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH, x = xOf(b.factor), good = b.factor >= 1;
    out.push(
      text(mid - half - 10, y + 13, b.label, 'text-anchor="end" font-size="10.5"'),
      `<rect x="${Math.min(x, mid).toFixed(1)}" y="${y + 3}" width="${Math.max(Math.abs(x - mid), 1).toFixed(1)}" height="${rowH - 6}" fill="${good ? "#2563eb" : "#f59e0b"}"><title>${esc(b.detail)}</title></rect>`,
      text(mid + half + 10, y + 13, b.detail, 'font-size="10" fill="#374151"'),
    );
  });
  return { svg: out.join("\n"), height: 64 + rowH * bars.length };
}

export function chartSvg(run: BenchRun): string {
  const parts: string[] = [];
  let y = 10;
  parts.push(text(20, y + 16, `ato benchmarks${run.quick ? " (--quick smoke run)" : ""} — ${run.startedAt.slice(0, 16).replace("T", " ")} UTC, ${run.host.cores} cores, ${run.host.cpu}, kernel ${run.host.kernel}, load ${run.loadAverage.start.toFixed(1)}→${run.loadAverage.end.toFixed(1)}`, 'font-size="13" font-weight="bold"'));
  y += 30;
  const peers = run.sections.find((s) => s.section === "peers");
  if (peers?.status === "ok") {
    const p = peerSeries(peers, "packets"), c = peerSeries(peers, "cpu");
    parts.push(groupedBars(20, y, 470, 260, "Packets accounted for, % of sent (higher is better)", p.unit, p.cats, p.series, 100));
    parts.push(groupedBars(510, y, 470, 260, "Process CPU per million packets (lower is better)", c.unit, c.cats, c.series));
    y += 270;
  }
  const bars = advantagePanel(y, advantageBars(run));
  parts.push(bars.svg);
  y += bars.height + 10;
  for (const s of run.sections.filter((s) => s.status !== "ok")) {
    parts.push(text(20, y + 12, `${s.section}: could not run — ${s.reason}`.slice(0, 160), 'font-size="11" fill="#b91c1c"'));
    y += 18;
  }
  const h = Math.ceil(y + 10);
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<rect width="${W}" height="${h}" fill="#ffffff"/>
${parts.join("\n")}
</svg>
`;
}
