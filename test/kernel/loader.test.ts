/**
 * How the loader creates the flow map (needs root): preallocated up to PREALLOC_MAX_FLOWS
 * entries and not beyond, a pinned map's flags kept on reload so its counts survive, and a map
 * without preallocation counting flows and overflow like a preallocated one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { mapInfo, testRun } from "../../ffi/libbpf.ts";
import { DEFAULT_CONFIG, FlowMapReader, readCounters, XdpAuditor } from "../../src/kernel/index.ts";
import { PREALLOC_MAX_FLOWS } from "../../src/kernel/loader.ts";
import { OBJECT, uniquePinDir } from "../support/bpf.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";

const NO_PREALLOC = 1;
const made: { a: XdpAuditor; pinDir: string }[] = [];
afterEach(() => {
  for (const { a, pinDir } of made.splice(0)) {
    a.close();
    rmSync(pinDir, { recursive: true, force: true });
  }
});

function load(maxFlows: number, opts: { pinDir?: string; flowMapFlags?: number } = {}) {
  const pinDir = opts.pinDir ?? uniquePinDir("loader");
  const a = XdpAuditor.load({ objectPath: OBJECT, pinDir, maxFlows, flowMapFlags: opts.flowMapFlags });
  a.configure(DEFAULT_CONFIG);
  made.push({ a, pinDir });
  return a;
}

const frame = (sport: number) => v4Frame({ src: "198.18.9.1", dst: "198.18.9.2", proto: IPPROTO.TCP }, tcp(sport, 443, 0x10)).frame;

describe("[kernel] flow map creation", () => {
  test(`up to ${PREALLOC_MAX_FLOWS} flows the map is preallocated, beyond it not`, () => {
    expect(mapInfo(load(PREALLOC_MAX_FLOWS).mapFd("flows")).flags & NO_PREALLOC).toBe(0);
    const big = mapInfo(load(PREALLOC_MAX_FLOWS + 1).mapFd("flows"));
    expect(big.flags & NO_PREALLOC).toBe(NO_PREALLOC);
    expect(big.maxEntries).toBe(PREALLOC_MAX_FLOWS + 1);
  });

  test("a pinned flow map is reused with the flags it was made with, and its counts survive", () => {
    const pinDir = uniquePinDir("loader");
    // Made preallocated although its size calls for none (an older ato, or the rule changed).
    const first = load(PREALLOC_MAX_FLOWS + 1, { pinDir, flowMapFlags: 0 });
    testRun(first.progFd, frame(1000), 3);
    made.pop()!.a.close();
    const again = load(PREALLOC_MAX_FLOWS + 1, { pinDir });
    expect(mapInfo(again.mapFd("flows")).flags & NO_PREALLOC).toBe(0);
    const flows = new FlowMapReader(again.mapFd("flows")).readAll();
    expect(flows.map((f) => f.counts.packets)).toEqual([3n]);
  });

  test("without preallocation flows are counted, and a full map counts the flow that found no room", () => {
    const a = load(4, { flowMapFlags: NO_PREALLOC });
    for (let i = 0; i < 5; i++) testRun(a.progFd, frame(2000 + i), 2);
    const flows = new FlowMapReader(a.mapFd("flows")).readAll();
    expect(flows).toHaveLength(4);
    expect(flows.every((f) => f.counts.packets === 2n)).toBe(true);
    const c = readCounters(a.mapFd("counters"));
    expect(c.ipv4).toBe(10n);
    expect(c.map_full).toBe(2n);
  });
});
