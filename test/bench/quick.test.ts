/**
 * `scripts/bench --quick`, the CI smoke run, end to end: every section of the benchmark is in
 * results.json with figures or an explicit reason, the figures name their command, inputs and
 * repetitions, the chart is an SVG document, and nothing the benches create is left behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SCHEMA, SECTIONS, type BenchRun } from "../../scripts/bench-lib.ts";

const ROOT = resolve(import.meta.dir, "../..");

/** What the benches create and must remove: namespaces, lab records, pins, temp directories. */
function leftovers(): Set<string> {
  const ls = (dir: string, prefix = "") => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(prefix)).map((f) => `${dir}/${f}`) : []);
  const netns = Bun.spawnSync(["ip", "netns", "list"]).stdout.toString().split("\n").map((l) => l.split(" ")[0]!).filter(Boolean).map((n) => `netns ${n}`);
  return new Set([...netns, ...ls("/run/ato-lab"), ...ls("/sys/fs/bpf", "ato-bench"), ...ls(tmpdir(), "ato-bench"), ...ls(tmpdir(), "bench-verify-"), ...ls(tmpdir(), "ato-softhsm-")]);
}

describe("[kernel][hsm] scripts/bench --quick", () => {
  const out = mkdtempSync(join(tmpdir(), "ato-quick-test-"));
  let before: Set<string>;
  let exit: number | null = null;
  let output = "";
  let run: BenchRun;

  beforeAll(() => {
    before = leftovers();
    // The suite has built dist/ already (scripts/test.sh); --no-build keeps this to the benches.
    const r = Bun.spawnSync([`${ROOT}/scripts/bench`, "--quick", "--no-build", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    exit = r.exitCode;
    output = r.stdout.toString() + r.stderr.toString();
    if (existsSync(`${out}/results.json`)) run = JSON.parse(readFileSync(`${out}/results.json`, "utf8"));
  }, 420_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("finishes and writes results.json (exit 0, or 3 when a section could not run)", () => {
    if (![0, 3].includes(exit ?? -1)) throw new Error(`scripts/bench --quick exited ${exit}:\n${output.slice(-3000)}`);
    expect(run.schema).toBe(SCHEMA);
    expect(run.quick).toBe(true);
    expect(exit).toBe(run.sections.every((s) => s.status === "ok") ? 0 : 3);
  });

  test("every section is there, with figures or a reason why it could not run", () => {
    expect(run.sections.map((s) => s.section)).toEqual([...SECTIONS]);
    for (const s of run.sections) {
      if (s.status === "could not run") {
        expect(s.reason, `${s.section}: could not run without a reason`).toBeTruthy();
        continue;
      }
      expect(s.status).toBe("ok");
      expect(s.results.length, `${s.section}: no results`).toBeGreaterThan(0);
      for (const r of s.results) {
        const where = `${s.section}/${r.id}`;
        expect(r.command, where).toBeTruthy();
        expect(Object.keys(r.inputs).length, `${where}: no inputs`).toBeGreaterThan(0);
        expect(r.repetitions, where).toBeGreaterThanOrEqual(1);
        expect(r.measurements.length + r.unavailable.length, `${where}: no measurements`).toBeGreaterThan(0);
        for (const m of r.measurements) {
          expect(m.samples.length, `${where} ${m.contender}`).toBeGreaterThanOrEqual(1);
          expect(Number.isFinite(m.median), `${where} ${m.contender} median ${m.median}`).toBe(true);
          expect(m.samples).toContain(m.median);
        }
        for (const u of r.unavailable) expect(u.reason, `${where}: ${u.contender} unavailable without a reason`).toBeTruthy();
      }
    }
  });

  test("the sections that need no peer or helper have figures: kernel, peers (ato itself), evidence, verify, mask", () => {
    for (const id of ["kernel", "peers", "evidence", "verify", "mask"] as const) {
      const s = run.sections.find((x) => x.section === id)!;
      expect(s.status, `${id}: ${s.reason}`).toBe("ok");
    }
    // ato's own completeness is measured against trafgen's count: it must be a real share.
    const packets = run.sections.find((x) => x.section === "peers")!.results.filter((r) => r.id.startsWith("packets/"));
    expect(packets.length).toBeGreaterThan(0);
    for (const r of packets) {
      const ato = r.measurements.find((m) => m.contender === "ato")!;
      expect(ato.median).toBeGreaterThan(0);
      expect(ato.median).toBeLessThanOrEqual(100);
    }
  });

  test("the chart is an SVG document, and the table was printed", () => {
    const svg = `${out}/chart.svg`;
    expect(existsSync(svg)).toBe(true);
    // An XML parser, not a regular expression: a malformed chart would not open in a browser either.
    const py = "import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); print(r.tag, len(list(r.iter('{http://www.w3.org/2000/svg}rect'))))";
    const r = Bun.spawnSync(["python3", "-c", py, svg]);
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    const [tag, rects] = r.stdout.toString().trim().split(" ");
    expect(tag).toBe("{http://www.w3.org/2000/svg}svg");
    expect(Number(rects)).toBeGreaterThan(5);
    expect(readFileSync(`${out}/results.md`, "utf8")).toContain("| kernel |");
    expect(output).toContain("scripts/bench --quick:");
  });

  test("leaves no namespace, lab record, pin or temp directory behind", () => {
    const added = [...leftovers()].filter((x) => !before.has(x));
    expect(added).toEqual([]);
  });
});
