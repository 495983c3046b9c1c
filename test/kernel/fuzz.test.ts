/**
 * Differential fuzz test of the XDP parser: seeded random and mutated frames through
 * BPF_PROG_TEST_RUN on the real compiled program, each compared field by field (class counters,
 * fragments, ext_hdr_limit, vlan_tagged, the flow key, bytes, TCP flags) with an independent
 * reference written from the contract (test/support/parser-reference.ts). Then the invariants:
 * every run returned XDP_PASS, and the four class counters sum to the frames run. The reference
 * itself is held to scapy's reading of honest frames (test/support/scapy_view.py).
 *
 *   ATO_FUZZ_SEED=N          replays a run (the seed is printed at the start)
 *   ATO_FUZZ_FRAMES=N        random frames (default 20,000: seconds); every 25th honest IP frame
 *                            is also cut at every length (the truncation sweep), on top of N
 *   ATO_FUZZ_COMPAT_FRAMES=N random frames for the build for kernels before 5.12 (default 4,000)
 *   ATO_FUZZ_SCAPY_FRAMES=N  frames for the scapy cross-check (default 2,000: about 6 s)
 */
import { expect, test } from "bun:test";
import { mapDelete } from "../../ffi/libbpf.ts";
import { buildFrame, mutate, Rng } from "../support/fuzz-frames.ts";
import { reference, type Expected } from "../support/parser-reference.ts";
import { COMPAT_OBJECT, loadForTest, OBJECT, XDP_PASS } from "../support/bpf.ts";

function envCount(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number >= 0, got "${v}"`);
  return n;
}

const SEED = envCount("ATO_FUZZ_SEED", Math.floor(Math.random() * 2 ** 31));
const FRAMES = envCount("ATO_FUZZ_FRAMES", 20000);
const COMPAT_FRAMES = envCount("ATO_FUZZ_COMPAT_FRAMES", 4000);
const SWEEP_EVERY = 25;
/** BPF_PROG_TEST_RUN without a context runs the frame as if it came in on the loopback device. */
const LOOPBACK_IFINDEX = 1;


const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const COUNTERS = [
  "packets", "bytes", "ipv4", "ipv6", "non_ip", "malformed", "fragments", "ext_hdr_limit", "vlan_tagged",
  "map_full", "ringbuf_full", "spike_events", "timing_events", "overflow_events",
] as const;

/** What the program must have added to its counters for this frame, by the reference. */
function expectedDeltas(frame: Uint8Array, e: Expected): Record<(typeof COUNTERS)[number], bigint> {
  const b = (x: boolean) => (x ? 1n : 0n);
  return {
    packets: 1n, bytes: BigInt(frame.length), ipv4: b(e.cls === "ipv4"), ipv6: b(e.cls === "ipv6"),
    non_ip: b(e.cls === "non_ip"), malformed: b(e.cls === "malformed"), fragments: b(!!e.flow?.fragment),
    ext_hdr_limit: b(e.extLimit), vlan_tagged: b(e.vlanTagged),
    // One packet per flow (each is removed after its frame), a map with room: no events, no overflow.
    map_full: 0n, ringbuf_full: 0n, spike_events: 0n, timing_events: 0n, overflow_events: 0n,
  };
}

/** Runs `frames` random frames through one build of the program against the reference. */
function differential(objectPath: string, frames: number, env: string): void {
  console.log(`parser fuzz: seed ${SEED}, ${frames} random frames (replay: ATO_FUZZ_SEED=${SEED} ${env}=${frames})`);
  const prog = loadForTest({}, 64, objectPath);
  try {
    run(prog, frames);
  } finally {
    prog.cleanup();
  }
}

function run(prog: ReturnType<typeof loadForTest>, frames: number): void {
  const r = new Rng(SEED);
  const failures: string[] = [];
  const seen = { ipv4: 0, ipv6: 0, non_ip: 0, malformed: 0, extLimit: 0, laterFragment: 0, qinq: 0, tcpPorts: 0, ahFlow: 0, sweep: 0 };
  let before = prog.counters(), runs = 0, notPass = 0, mismatched = 0;

  const check = (frame: Uint8Array, note: string) => {
    const e = reference(frame);
    if (prog.run(frame) !== XDP_PASS) notPass++;
    runs++;
    const after = prog.counters();
    const diffs: string[] = [];
    const want = expectedDeltas(frame, e);
    for (const c of COUNTERS) if (after[c] - before[c] !== want[c]) diffs.push(`${c} +${after[c] - before[c]}, want +${want[c]}`);
    before = after;
    const flows = prog.flows();
    for (const f of flows) mapDelete(prog.auditor.mapFd("flows"), f.rawKey);
    if (flows.length !== (e.flow ? 1 : 0)) diffs.push(`${flows.length} flows, want ${e.flow ? 1 : 0}`);
    else if (e.flow) {
      const f = flows[0]!;
      const got = {
        family: f.key.family, proto: f.key.proto, src: hex(f.key.src.subarray(0, f.key.family === 4 ? 4 : 16)),
        dst: hex(f.key.dst.subarray(0, f.key.family === 4 ? 4 : 16)), sport: f.key.sport, dport: f.key.dport,
        vlan: f.key.vlan, vlanInner: f.key.vlanInner, bytes: Number(f.counts.bytes), tcpFlags: f.counts.tcpFlags,
        fragment: f.counts.fragments === 1,
      };
      for (const [k, v] of Object.entries(e.flow)) if (got[k as keyof typeof got] !== v) diffs.push(`${k} ${got[k as keyof typeof got]}, want ${v}`);
      if (f.key.ifindex !== LOOPBACK_IFINDEX) diffs.push(`ifindex ${f.key.ifindex}, want ${LOOPBACK_IFINDEX}`);
      if (f.counts.packets !== 1n) diffs.push(`packets ${f.counts.packets}, want 1`);
      if (f.key.family === 4 && (f.key.src.subarray(4).some((x) => x) || f.key.dst.subarray(4).some((x) => x))) diffs.push("IPv4 address slot not zero-padded");
    }
    if (diffs.length) mismatched++;
    if (diffs.length && failures.length < 8) failures.push(`frame ${runs} (${note}) ${hex(frame)}\n    ${diffs.join("; ")}`);
    seen[e.cls]++;
    if (e.extLimit) seen.extLimit++;
    if (e.flow?.fragment && e.flow.sport === 0 && (e.flow.proto === 6 || e.flow.proto === 17)) seen.laterFragment++;
    if (e.flow?.vlanInner) seen.qinq++;
    if (e.flow?.proto === 6 && e.flow.sport) seen.tcpPorts++;
    if (e.flow?.family === 6 && /ah[1-9]/.test(note)) seen.ahFlow++;
  };

  let honestIp = 0;
  for (let i = 0; i < frames; i++) {
    const built = buildFrame(r);
    const m = mutate(r, built);
    check(m.frame, m.note);
    // The truncation sweep: an honest IP frame cut at every length a test run accepts (14 on).
    if (m.note === built.note && reference(built.frame).flow && ++honestIp % SWEEP_EVERY === 0) {
      for (let len = 14; len < built.frame.length; len++) { check(built.frame.subarray(0, len), `${built.note}; cut ${len} (sweep)`); seen.sweep++; }
    }
  }

  const c = prog.counters();
  console.log(`parser fuzz: ${runs} frames run (${seen.sweep} in truncation sweeps); reference classes ipv4 ${seen.ipv4}, ipv6 ${seen.ipv6}, non-IP ${seen.non_ip}, malformed ${seen.malformed}; ext-limit ${seen.extLimit}, later fragments ${seen.laterFragment}, QinQ flows ${seen.qinq}, IPv6 flows behind AH ${seen.ahFlow}; ${mismatched} mismatched`);
  expect(failures).toEqual([]);
  expect(notPass).toBe(0);
  expect(c.packets).toBe(BigInt(runs));
  expect(c.ipv4 + c.ipv6 + c.non_ip + c.malformed).toBe(c.packets);
  // The generator must keep reaching every path, or the comparison above proves little.
  for (const [what, n] of Object.entries(seen)) expect({ what, reached: n > 0 }).toEqual({ what, reached: true });
}

test(`[kernel] differential fuzz: the program records what the contract says, frame by frame`, () => {
  differential(OBJECT, FRAMES, "ATO_FUZZ_FRAMES");
}, Math.max(300_000, FRAMES * 2));

test(`[kernel] differential fuzz: the build for kernels before 5.12 records the same`, () => {
  differential(COMPAT_OBJECT, COMPAT_FRAMES, "ATO_FUZZ_COMPAT_FRAMES");
}, Math.max(120_000, COMPAT_FRAMES * 2));

/**
 * Frames for the scapy cross-check: honest built frames the reference calls flows, until this
 * many. Not mutated ones: a lie can make a routing header of odd length, which scapy cannot read
 * (it takes every routing type but 4 for a list of 16-byte addresses).
 */
const SCAPY_FRAMES = envCount("ATO_FUZZ_SCAPY_FRAMES", 2000);

test("the reference reads every field as scapy does, on honest frames it calls flows", () => {
  const r = new Rng(SEED ^ 0x5ca9);
  const cases: { frame: Uint8Array; note: string; flow: NonNullable<Expected["flow"]> }[] = [];
  while (cases.length < SCAPY_FRAMES) {
    const b = buildFrame(r);
    const flow = reference(b.frame).flow;
    if (flow) cases.push({ frame: b.frame, note: b.note, flow });
  }
  // Debian's python3 (scripts/bootstrap.sh installs python3-scapy for it), not one first on PATH.
  const p = Bun.spawnSync(["/usr/bin/python3", `${import.meta.dir}/../support/scapy_view.py`], {
    stdin: Buffer.from(cases.map((c) => hex(c.frame)).join("\n") + "\n"),
  });
  expect({ exit: p.exitCode, stderr: p.stderr.toString() }).toEqual({ exit: 0, stderr: "" });
  const views = p.stdout.toString().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(views).toHaveLength(cases.length);
  const failures: string[] = [];
  let mismatched = 0;
  cases.forEach((c, i) => {
    const v = views[i]!;
    const diffs = Object.entries(c.flow).filter(([k, want]) => v[k] !== want).map(([k, want]) => `${k}: scapy ${v[k] ?? v.error}, reference ${want}`);
    if (diffs.length && ++mismatched <= 8) failures.push(`(${c.note}) ${hex(c.frame)}\n    ${diffs.join("; ")}`);
  });
  console.log(`parser fuzz: scapy read ${cases.length} flow frames of seed ${SEED}; ${mismatched} disagree with the reference`);
  expect(failures).toEqual([]);
}, Math.max(120_000, SCAPY_FRAMES * 20));
