/**
 * `scripts/bench --quick`, the CI smoke run, end to end: every section of the benchmark is in
 * results.json with figures or an explicit reason, the figures name their command, inputs and
 * repetitions, the chart is an SVG document, and nothing the benches create is left behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { SCHEMA, SECTIONS, type BenchRun } from "../../scripts/bench-lib.ts";

const ROOT = resolve(import.meta.dir, "../..");

/**
 * The bench runs in a mount namespace of its own where /tmp, /run/netns, /run/ato-lab and
 * /sys/fs/bpf are this test's own directories: whatever the bench makes lands there and nowhere
 * else, so the leftover check sees only what the bench made, never another program's files made
 * at the same time. The bpffs directory is a real bpffs directory (pins work as on the host).
 * The jail lives under /var/tmp, and the checkout is mounted inside it, so a checkout under
 * /tmp stays reachable once /tmp is replaced.
 */
const TAG = `ato-quick-test-${process.pid}-${Date.now().toString(36)}`;
const base = `/var/tmp/${TAG}`;
const jail = { tmp: `${base}/tmp`, netns: `${base}/netns`, labs: `${base}/labs`, bpf: `/sys/fs/bpf/${TAG}` };
const repo = `${base}/repo`;
const out = `${base}/out`;

/**
 * What the bench left in its own directories. Two caches stay by design: ato's libraries
 * (ato-lib-*, ffi/native.ts) and the native addon a compiled Bun binary extracts (.bun-*.node).
 */
function leftovers(): string[] {
  return Object.values(jail).flatMap((dir) => (existsSync(dir) ? readdirSync(dir).map((f) => `${dir}/${f}`) : []))
    .filter((p) => !/\/(ato-lib-[^/]+|\.bun-[^/]+\.node)$/.test(p));
}

const inJail = (argv: string[]) => [
  "unshare", "--mount", "--propagation", "private", "bash", "-c",
  `set -e; mount --bind "$1" "$2"; mount --bind "$3" /run/netns; mount --bind "$4" /run/ato-lab; mount --bind "$5" /sys/fs/bpf; ` +
    `mount --bind "$6" /tmp; cd "$2"; shift 6; exec env TMPDIR=/tmp "$@"`,
  "bash", ROOT, repo, jail.netns, jail.labs, jail.bpf, jail.tmp, ...argv,
];

describe("[kernel][hsm] scripts/bench --quick", () => {
  let exit: number | null = null;
  let output = "";
  let run: BenchRun;

  beforeAll(() => {
    for (const dir of [...Object.values(jail), repo, out]) mkdirSync(dir, { recursive: true, mode: 0o1777 });
    mkdirSync("/run/netns", { recursive: true });
    mkdirSync("/run/ato-lab", { recursive: true });
    // The suite has built dist/ already (scripts/test.sh); --no-build keeps this to the benches.
    const r = Bun.spawnSync(inJail(["scripts/bench", "--quick", "--no-build", "--out", out]), { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    exit = r.exitCode;
    output = r.stdout.toString() + r.stderr.toString();
    if (existsSync(`${out}/results.json`)) run = JSON.parse(readFileSync(`${out}/results.json`, "utf8"));
  }, 420_000);

  afterAll(() => {
    // Whatever the bench left goes after the check has seen it. Its bind mounts (the checkout,
    // its namespaces) lived in its mount namespace and went with it: what remains are plain
    // files and pins.
    rmSync(jail.bpf, { recursive: true, force: true });
    // The checkout's mount point must be empty here; if it is not (the mount outlived its
    // namespace), removing the tree under it would remove the checkout: leave everything.
    rmdirSync(repo);
    rmSync(base, { recursive: true, force: true });
  });

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
    expect(leftovers()).toEqual([]);
  });
});
