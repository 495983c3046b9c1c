/**
 * `[kernel]` `ato flows` on a flow map the real XDP program filled (frames through BPF_PROG_TEST_RUN):
 * `--json` without `--top` gives every flow, the table stops at 20, and first_seen/last_seen are RFC 3339
 * wall-clock times, as in the evidence records.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { IPPROTO, udp, v4Frame } from "../support/frames.ts";
import { loadForTest } from "../support/bpf.ts";
import { ato } from "./_run.ts";

const FLOWS = 30;
let bpf: ReturnType<typeof loadForTest>;
let before: number;
let after: number;

beforeAll(() => {
  bpf = loadForTest();
  before = Date.now();
  for (let i = 0; i < FLOWS; i++) bpf.run(v4Frame({ src: "198.18.0.1", dst: "198.18.0.2", proto: IPPROTO.UDP }, udp(10_000 + i, 53, 8)).frame, i + 1);
  after = Date.now();
});
afterAll(() => bpf?.cleanup());

describe("[kernel] ato flows", () => {
  test("--json without --top lists every flow, largest first, with RFC 3339 first_seen and last_seen", () => {
    const r = ato(["flows", "--pin-dir", bpf.pinDir, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { sport: number; packets: number; first_seen: string; last_seen: string }[];
    expect(rows).toHaveLength(FLOWS);
    expect(rows.map((f) => f.packets)).toEqual(Array.from({ length: FLOWS }, (_, i) => FLOWS - i));
    for (const f of rows) {
      expect(f.first_seen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const first = Date.parse(f.first_seen);
      const last = Date.parse(f.last_seen);
      // The kernel's monotonic times, put on the wall clock with one offset: within a second of the window the frames
      // ran in (raw monotonic nanoseconds would be decades off).
      expect(first).toBeGreaterThanOrEqual(before - 1000);
      expect(last).toBeLessThanOrEqual(after + 1000);
      expect(last).toBeGreaterThanOrEqual(first);
    }
  });

  test("--top N and the table's 20", () => {
    expect(JSON.parse(ato(["flows", "--pin-dir", bpf.pinDir, "--json", "--top", "3"]).stdout)).toHaveLength(3);
    const table = ato(["flows", "--pin-dir", bpf.pinDir]);
    expect(table.code).toBe(0);
    expect(table.stdout.trimEnd().split("\n").at(-1)).toBe(`20 of ${FLOWS} flows`);
  });

  test("FLOW_MAP_PATH (compose's name for the map) finds the pin directory, as for ato run", () => {
    const r = ato(["flows", "--json", "--top", "1"], { FLOW_MAP_PATH: `${bpf.pinDir}/flow_map` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].packets).toBe(FLOWS);
  });
});
