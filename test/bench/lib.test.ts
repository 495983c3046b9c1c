/** The shared bench shape: medians, ratios of medians, argument parsing, and files it refuses. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchArgs, couldNotRun, measurement, median, readBenchFile, result, section, writeBenchFile } from "../../scripts/bench-lib.ts";

const dir = mkdtempSync(join(tmpdir(), "ato-bench-lib-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench-lib", () => {
  test("median is the middle sample (upper middle of an even count) and refuses no samples", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(() => median([])).toThrow("no samples");
  });

  test("a result's ratios are ato's median over each other median, with repetitions from ato's samples", () => {
    const r = result({
      id: "x", title: "x", better: "lower", command: "c", inputs: { n: 1 },
      measurements: [measurement("xdp_audit", "ns", [160, 170, 500]), measurement("XDP_PASS", "ns", [34, 35, 36]), measurement("zero", "ns", [0])],
    });
    expect(r.repetitions).toBe(3);
    expect(r.ratios).toEqual([{ subject: "xdp_audit", baseline: "XDP_PASS", ratio: 170 / 35 }]); // no ratio to a zero median
    expect(r.unavailable).toEqual([]);
  });

  test("--quick is a switch; --json and other flags take the next argument; the rest is positional", () => {
    const a = benchArgs(["1000", "--quick", "--rounds", "5", "--json", "/tmp/x.json"]);
    expect(a.quick).toBe(true);
    expect(a.json).toBe("/tmp/x.json");
    expect(a.number("rounds", 3)).toBe(5);
    expect(a.positional).toEqual(["1000"]);
    expect(() => benchArgs(["--json"]).json).toThrow("--json needs a value");
    expect(() => benchArgs(["--rounds", "zero"]).number("rounds", 3)).toThrow("positive number");
  });

  test("a written file reads back; a wrong schema, an unknown section or a missing reason is refused", () => {
    const s = section("mask", "t", "cmd", true);
    const good = join(dir, "good.json");
    writeBenchFile(good, [s.finish(), couldNotRun("agent", "t", "cmd", true, "no wrk")]);
    expect(readBenchFile(good).sections.map((x) => x.status)).toEqual(["ok", "could not run"]);

    const bad = (name: string, body: unknown) => { const p = join(dir, name); writeFileSync(p, JSON.stringify(body)); return p; };
    expect(() => readBenchFile(bad("schema.json", { schema: "other", sections: [] }))).toThrow("not an ato-bench/1 file");
    expect(() => readBenchFile(bad("section.json", { schema: "ato-bench/1", sections: [{ section: "gpu", status: "ok", results: [] }] }))).toThrow("unknown section");
    expect(() => readBenchFile(bad("reason.json", { schema: "ato-bench/1", sections: [{ section: "agent", status: "could not run" }] }))).toThrow("gives no reason");
  });
});
