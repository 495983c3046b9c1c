/**
 * The collector's record writer (a DueChunk masked in one SIMD call, written as text from its
 * columns, and as whole lines by the native writer) writes what canonicalize(flowRecord(...)) writes for the same flows through
 * Masker.maskFlows, byte for byte, alone and as whole lines (envelope, seq, ts, leaf hashes):
 * over random flows (IPv4, IPv6, IPv4-mapped, ICMP, TCP, VLANs, counts and kernel times near
 * 2^53, interface names that need escaping, every reason) under several masking policies
 * (prefixes, kept ports, keyed tokens, seals). Needs the built
 * masking library (bash scripts/build.sh), no kernel.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createSecretKey, randomBytes } from "node:crypto";
import { KernelClock, type ExportReason } from "../../src/collector/index.ts";
import { DueChunk } from "../../src/collector/chunk.ts";
import { ChunkWriter, maskKeysOracle } from "../../src/collector/chunk-line.ts";
import { IsoTimes } from "../../src/collector/flow-line.ts";
import { flowRecord } from "../../src/collector/records.ts";
import type { Growth } from "../../src/collector/baseline.ts";
import { canonicalize } from "../../src/evidence/index.ts";
import { encodeKey, type FlowKey } from "../../src/kernel/index.ts";
import { LINE_INTS, nativeScan } from "../../ffi/scan.ts";
import { encodeLines, encodeTextLines } from "../../src/log/encode.ts";
import type { LineWriter } from "../../src/log/index.ts";
import { Masker, PortPolicy, type MaskOptions } from "../../src/mask/index.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const IFACES = ["lo", "eth0", "veth-ato\"q", "wan\\0", "tab\there", "ünï", "ctl\u0001", "emoji😀", "x".repeat(15)];
const REASONS: ExportReason[] = ["idle", "active", "shutdown", "interval", "recreated", "evicted"];
const PROTOS = [1, 6, 17, 58, 47, 132, 33];
const MAX = Number.MAX_SAFE_INTEGER;

function randomGrowth(next: () => number): Growth {
  const pick = <T>(a: T[]) => a[Math.floor(next() * a.length)]!;
  const int = (n: number) => Math.floor(next() * n);
  const big = () => (next() < 0.1 ? MAX - int(1000) : next() < 0.2 ? 2 ** 32 + int(1000) : int(100_000));
  const family = next() < 0.5 ? 4 : 6;
  const src = new Uint8Array(16), dst = new Uint8Array(16);
  if (family === 4) { src.set([int(256), int(256), int(256), int(256)]); dst.set([198, 19, int(4), int(256)]); }
  else {
    for (let i = 0; i < 16; i++) { src[i] = next() < 0.4 ? 0 : int(256); dst[i] = next() < 0.6 ? 0 : int(256); }
    if (next() < 0.2) { src.fill(0, 0, 10); src[10] = src[11] = 0xff; } // IPv4-mapped
  }
  const key: FlowKey = { family, proto: pick(PROTOS), src, dst, sport: int(65536), dport: int(65536),
    vlan: next() < 0.3 ? int(4095) : 0, vlanInner: next() < 0.2 ? 1 + int(4094) : 0, ifindex: 1 + int(IFACES.length) };
  const packets = big(), bytes = big();
  // Kernel ns up to 2^53 (104 days of uptime), a good share within a nanosecond of a millisecond's edge.
  const first = next() < 0.3 ? int(2 ** 40) * 1e6 - int(2) : next() < 0.1 ? MAX - int(1e9) : int(2 ** 52);
  const last = Math.min(MAX, first + int(1e12));
  return {
    f: { key, rawKey: encodeKey(key), counts: { packets: BigInt(packets), bytes: BigInt(bytes), firstSeenNs: BigInt(first), lastSeenNs: BigInt(last),
      tcpFlags: next() < 0.5 ? int(256) : 0, fragments: next() < 0.3 ? int(1000) : 0, timingFlags: next() < 0.2 ? int(9) : 0, spikes: next() < 0.2 ? int(9) : 0 } },
    d: { packets: Math.min(packets, big()), bytes: Math.min(bytes, big()), fragments: next() < 0.2 ? int(99) : 0 },
    reason: pick(REASONS),
  };
}

const maskers: Masker[] = [];
afterAll(() => maskers.forEach((m) => m.close()));
function masker(o: Partial<MaskOptions>): Masker {
  const m = Masker.open(o);
  maskers.push(m);
  return m;
}

const POLICIES: [string, Partial<MaskOptions>][] = [
  ["the defaults (/24, /48, no ports)", {}],
  ["other prefixes, well-known ports and 8080 kept", { ipv4Prefix: 16, ipv6Prefix: 64, keepPorts: PortPolicy.parse("well-known,8080") }],
  ["every port kept, full addresses", { ipv4Prefix: 32, ipv6Prefix: 128, keepPorts: PortPolicy.parse("all") }],
  ["keyed tokens", { tokenKey: createSecretKey(randomBytes(32)) }],
  ["sealed fields", { sealKey: createSecretKey(randomBytes(32)), keepPorts: PortPolicy.parse("443") }],
];

describe("flow records written from a chunk", () => {
  for (const [name, options] of POLICIES) {
    test(`are canonicalize(flowRecord(...)) byte for byte: ${name}`, () => {
      const m = masker(options);
      const next = rng(name.length * 7919);
      const clock = new KernelClock();
      const chunk = new DueChunk(256);
      const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
      let compared = 0;
      for (let round = 0; round < 12; round++) {
        const flows = Array.from({ length: 1 + Math.floor(next() * 256) }, () => randomGrowth(next));
        chunk.n = 0;
        flows.forEach((g) => chunk.addGrowth(g));
        const rids = m.seals ? flows.map(() => randomBytes(9).toString("base64url")) : undefined;
        writer.mask(chunk, rids);
        flows.forEach((g, i) => {
          const iface = IFACES[g.f.key.ifindex - 1]!;
          const got = writer.text(chunk, i, iface, rids?.[i]);
          const masked = m.maskFlows([g.f.key], rids && [rids[i]!])[0]!;
          if (masked.sealed !== undefined) {
            // A seal has a random nonce: the one written must open to this flow's full fields, and the rest must match.
            const sealed = JSON.parse(got).sealed as string;
            expect(m.reveal(sealed, rids![i]!)).toEqual(m.reveal(masked.sealed, rids![i]!));
            masked.sealed = sealed;
          }
          const expected = canonicalize(flowRecord(chunk.flow(i), masked, g.d, g.reason, iface, clock, rids?.[i]));
          if (got !== expected) expect({ round, i, got }).toEqual({ round, i, got: expected });
          compared++;
        });
      }
      expect(compared).toBeGreaterThan(500);
    });
  }

  test("whole lines: appendTexts' encoder with the chunk's records writes what encodeLines writes for the objects (envelope, seq, ts, newlines, leaf hashes)", () => {
    const m = masker({ keepPorts: PortPolicy.parse("well-known") });
    const next = rng(7);
    const clock = new KernelClock();
    const flows = Array.from({ length: 256 }, () => randomGrowth(next));
    const chunk = new DueChunk(256);
    flows.forEach((g) => chunk.addGrowth(g));
    const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
    writer.mask(chunk);
    const iface = (i: number) => IFACES[flows[i]!.f.key.ifindex - 1]!;
    const data = flows.map((g, i) => flowRecord(chunk.flow(i), m.maskFlows([g.f.key])[0]!, g.d, g.reason, iface(i), clock));
    const fast = encodeTextLines("flow", flows.length, (i) => writer.text(chunk, i, iface(i)), "internal", 12_345, "2026-12-01T09:00:00.123Z");
    const slow = encodeLines("flow", data, "internal", 12_345, "2026-12-01T09:00:00.123Z");
    expect(Buffer.from(fast.text).equals(slow.text)).toBe(true);
    expect(fast.leaves.map((h) => Buffer.from(h).toString("hex"))).toEqual(slow.leaves.map((h) => Buffer.from(h).toString("hex")));
  });

  test("whole lines: the native writer (asm/flow_lines.asm) writes the bytes of the text, leaving it the lines it cannot write", () => {
    const m = masker({});
    const next = rng(11);
    const chunk = new DueChunk(256);
    let native = 0, lines = 0;
    for (let round = 0; round < 40; round++) {
      // A wall clock anywhere from before 1970 to the end of 9999 (every month, leap years, the writer's year limit).
      const wallMs = Math.floor(next() * 253_402_300_799_999) - (next() < 0.1 ? 2 ** 40 : 0) - (next() < 0.1 ? 0 : 1e10);
      const clock = new KernelClock({ monotonicNs: () => 0n, realtimeNs: () => BigInt(wallMs) * 1_000_000n + BigInt(Math.floor(next() * 1e6)) });
      const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
      const flows = Array.from({ length: 1 + Math.floor(next() * 256) }, () => randomGrowth(next));
      // Runs of one interface, as a map is read; and counts at the edge of what the native writer takes.
      let ifindex = 1;
      for (const g of flows) {
        if (next() < 0.1) ifindex = 1 + Math.floor(next() * IFACES.length);
        g.f.key.ifindex = ifindex;
        if (next() < 0.05) g.d.packets = 2 ** 53;
        if (next() < 0.05) g.d.bytes = 2 ** 53 - 1;
        if (next() < 0.03) g.d.fragments = -1;
        g.f.rawKey = encodeKey(g.f.key);
      }
      chunk.n = 0;
      flows.forEach((g) => chunk.addGrowth(g));
      writer.mask(chunk);
      const at = Math.floor(next() * Math.min(8, flows.length));
      const n = flows.length - at, first = Math.floor(next() * 2 ** 40);
      const text = (i: number) => writer.text(chunk, at + i, IFACES[chunk.ifindex(at + i) - 1]!);
      const w = writer.lines(chunk, at, (ix) => IFACES[ix - 1]!)!;
      expect(w).toBeDefined();
      const counted: LineWriter = (b, from, upTo, env, seq, spans) => { const k = w(b, from, upTo, env, seq, spans); native += k - from; return k; };
      counted.textUntil = w.textUntil; // the runs of lines it leaves (IPv6) go to the text whole
      const slow = encodeTextLines("flow", n, text, "internal", first, "2026-12-01T09:00:00.123Z");
      const slowText = Buffer.from(slow.text), slowLeaves = slow.leaves.map((h) => Buffer.from(h).toString("hex"));
      const fast = encodeTextLines("flow", n, text, "internal", first, "2026-12-01T09:00:00.123Z", counted);
      if (!Buffer.from(fast.text).equals(slowText)) expect({ round, text: Buffer.from(fast.text).toString() }).toEqual({ round, text: slowText.toString() });
      expect(fast.leaves.map((h) => Buffer.from(h).toString("hex"))).toEqual(slowLeaves);
      lines += n;
    }
    expect(native).toBeGreaterThan(lines / 5); // half the flows are IPv4, some with counts the writer leaves to the text
    expect(native).toBeLessThan(lines);
  });

  test("whole lines: the native writer writes every IPv4 line of a host up longer than 2^53 ns (104 days), the bytes of the BigInt oracle", () => {
    const m = masker({});
    const next = rng(13);
    const DAY = 86_400e9;
    // Kernel times past 2^53: 200 days of uptime (and its millisecond edges), the edge itself, 2^62 and the last double below 2^63.
    const times = [200 * DAY, 200 * DAY + 999_998, 200 * DAY + 1e6, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 62, 2 ** 62 + 2 ** 10, 2 ** 63 - 2 ** 10];
    for (const restNs of [0n, 259_008n, 999_999n]) { // 259,008: 2^53 - 1 + rest is one below a whole millisecond past 2^53
      const clock = new KernelClock({ monotonicNs: () => 0n, realtimeNs: () => 1_764_000_000_000n * 1_000_000n + restNs });
      const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
      const flows = Array.from({ length: 200 }, (_, i) => {
        const g = randomGrowth(next);
        g.f.key.family = 4;
        g.f.key.src = new Uint8Array(16); g.f.key.src.set([10, i & 0xff, 7, 1]);
        g.f.key.dst = new Uint8Array(16); g.f.key.dst.set([198, 19, 2, i & 0xff]);
        g.f.key.ifindex = 2;
        g.f.rawKey = encodeKey(g.f.key);
        const first = i < times.length ? times[i]! : 200 * DAY + Math.floor(next() * 1e15);
        const last = i < times.length ? times[times.length - 1 - i]! : first + Math.floor(next() * 1e12);
        g.f.counts.firstSeenNs = BigInt(first);
        g.f.counts.lastSeenNs = BigInt(last);
        return g;
      });
      const chunk = new DueChunk(256);
      flows.forEach((g) => chunk.addGrowth(g));
      writer.mask(chunk);
      const data = flows.map((g, i) => flowRecord(chunk.flow(i), m.maskFlows([g.f.key])[0]!, g.d, g.reason, IFACES[1]!, clock));
      const slow = encodeLines("flow", data, "internal", 77, "2026-12-01T09:00:00.123Z");
      const text = (i: number) => writer.text(chunk, i, IFACES[1]!);
      const textOnly = encodeTextLines("flow", flows.length, text, "internal", 77, "2026-12-01T09:00:00.123Z");
      if (!Buffer.from(textOnly.text).equals(slow.text)) expect({ restNs, text: Buffer.from(textOnly.text).toString() }).toEqual({ restNs, text: Buffer.from(slow.text).toString() });
      const w = writer.lines(chunk, 0, (ix) => IFACES[ix - 1]!)!;
      let native = 0;
      const counted: LineWriter = (b, from, upTo, env, seq, spans) => { const k = w(b, from, upTo, env, seq, spans); native += k - from; return k; };
      const fast = encodeTextLines("flow", flows.length, text, "internal", 77, "2026-12-01T09:00:00.123Z", counted);
      if (!Buffer.from(fast.text).equals(slow.text)) expect({ restNs, text: Buffer.from(fast.text).toString() }).toEqual({ restNs, text: Buffer.from(slow.text).toString() });
      expect({ restNs, native }).toEqual({ restNs, native: flows.length });
    }
  });

  test("whole lines: a run of lines the native writer leaves (IPv6) goes to the text whole: one native call per run of IPv4 lines", () => {
    const m = masker({});
    const next = rng(17);
    const clock = new KernelClock();
    const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
    // 100 IPv6 flows, 100 IPv4, 50 IPv6: the writer is asked at line 0 (leaves it) and at line 100 (writes to 200).
    const flows = Array.from({ length: 250 }, (_, i) => {
      let g: Growth;
      do g = randomGrowth(next); while (g.f.key.family !== (i >= 100 && i < 200 ? 4 : 6));
      g.f.key.ifindex = 3;
      g.f.rawKey = encodeKey(g.f.key);
      return g;
    });
    const chunk = new DueChunk(256);
    flows.forEach((g) => chunk.addGrowth(g));
    writer.mask(chunk);
    const text = (i: number) => writer.text(chunk, i, IFACES[2]!);
    const slow = encodeTextLines("flow", flows.length, text, "internal", 5, "2026-12-01T09:00:00.123Z");
    const slowText = Buffer.from(slow.text), slowLeaves = slow.leaves.map((h) => Buffer.from(h).toString("hex"));
    const w = writer.lines(chunk, 0, (ix) => IFACES[ix - 1]!)!;
    const calls: [number, number][] = [];
    const counted: LineWriter = (b, from, upTo, env, seq, spans) => { const k = w(b, from, upTo, env, seq, spans); calls.push([from, k]); return k; };
    counted.textUntil = w.textUntil;
    const fast = encodeTextLines("flow", flows.length, text, "internal", 5, "2026-12-01T09:00:00.123Z", counted);
    if (!Buffer.from(fast.text).equals(slowText)) expect(Buffer.from(fast.text).toString()).toBe(slowText.toString());
    expect(fast.leaves.map((h) => Buffer.from(h).toString("hex"))).toEqual(slowLeaves);
    expect(calls).toEqual([[0, 0], [100, 200]]);
  });

  test("whole lines: one writer over appends whose ts, kind and interface names change writes each append's bytes (its envelope and names copied again)", () => {
    const m = masker({});
    const next = rng(23);
    const clock = new KernelClock();
    const writer = new ChunkWriter(m, 256, new IsoTimes(clock));
    const chunk = new DueChunk(256);
    const flows = Array.from({ length: 120 }, () => randomGrowth(next)).filter((g) => g.f.key.family === 4);
    flows.forEach((g, i) => { g.f.key.ifindex = i < 40 ? 1 : 2; g.f.rawKey = encodeKey(g.f.key); chunk.addGrowth(g); });
    writer.mask(chunk);
    const names = [["eth0", "wan0"], ["eth0", "wan0"], ["renamed\"0", "wan0"], ["eth0", "x".repeat(15)]];
    const stamps = ["2026-12-01T09:00:00.123Z", "2026-12-01T09:00:00.124Z", "2026-12-01T09:00:00.124Z", "2026-12-01T09:00:00.123Z"];
    const kinds = ["flow", "flow", "flow_other", "flow"];
    let native = 0;
    names.forEach((ns, k) => {
      const text = (i: number) => writer.text(chunk, i, ns[chunk.ifindex(i) - 1]!);
      const w = writer.lines(chunk, 0, (ix) => ns[ix - 1]!)!;
      const counted: LineWriter = (b, from, upTo, env, seq, spans) => { const r = w(b, from, upTo, env, seq, spans); native += r - from; return r; };
      counted.textUntil = w.textUntil;
      const slow = Buffer.from(encodeTextLines(kinds[k]!, chunk.n, text, "internal", 1000 * k, stamps[k]!).text).toString(); // a copy: the next call reuses the buffer
      const fast = Buffer.from(encodeTextLines(kinds[k]!, chunk.n, text, "internal", 1000 * k, stamps[k]!, counted).text).toString();
      expect(fast).toContain(`"ts":"${stamps[k]}"`);
      expect(fast).toBe(slow);
    });
    expect(native).toBeGreaterThan(chunk.n); // the native writer wrote lines of every append, not the text alone
  });

  test.skipIf(!nativeScan())("the native line writer's binding refuses lines past the records its columns hold, at every call, and resizable buffers", () => {
    const lib = nativeScan()!;
    const chunk = new DueChunk(16);
    const cols = { keys: chunk.keys, slots: new Uint8Array(16 * 32), dPackets: chunk.dPackets, dBytes: chunk.dBytes, dFragments: chunk.dFragments,
      packets: chunk.packets, bytes: chunk.bytes, firstSeen: chunk.firstSeen, lastSeen: chunk.lastSeen, tcpFlags: chunk.tcpFlags,
      timingFlags: chunk.timingFlags, spikes: chunk.spikes, reasonCode: chunk.reasonCode, consts: new Uint8Array(5 * 256) };
    const ints = new Uint32Array(LINE_INTS), f = new Float64Array(3), out = new Uint8Array(64), spans = new Uint32Array(64);
    ints[1] = 64;
    const internal = expect.objectContaining({ code: "INTERNAL" });
    expect(lib.lines({ ...cols, out, spans }, ints, f, 1, 1)).toBe(1); // nothing to write
    ints[4] = 10;
    expect(() => lib.lines({ ...cols, out, spans }, ints, f, 0, 7)).toThrow(internal); // records 10..16: one past the chunk
    expect(() => lib.lines({ ...cols, slots: new Uint8Array(15 * 32), out, spans }, ints, f, 0, 6)).toThrow(internal); // slots for 15
    // The same arrays as the last call, one of whose buffers was transferred away since: refused (its kept address is stale).
    const a = { ...cols, dPackets: new Float64Array(16), out, spans };
    ints[4] = 0;
    expect(lib.lines(a, ints, f, 1, 1)).toBe(1);
    void a.dPackets.buffer.transfer();
    expect(() => lib.lines(a, ints, f, 0, 1)).toThrow(internal);
    expect(() => lib.lines({ ...cols, dPackets: new Float64Array(new ArrayBuffer(128, { maxByteLength: 256 })), out, spans }, ints, f, 0, 1)).toThrow(/resizable/);
  });

  test("a chunk's keys are masked in one native call into the slots the JavaScript copy and maskSlots give (mixed families)", () => {
    const m = masker({ ipv4Prefix: 20, ipv6Prefix: 40 });
    const next = rng(11);
    const chunk = new DueChunk(256);
    const flows = Array.from({ length: 200 }, () => randomGrowth(next));
    flows.forEach((g) => chunk.addGrowth(g));
    expect(new Set(flows.map((g) => g.f.key.family)).size).toBe(2);
    const want = new Uint8Array(2 * 256 * 16), got = new Uint8Array(2 * 256 * 16).fill(0xee);
    maskKeysOracle(m, chunk.keys, chunk.n, want);
    m.maskKeys(chunk.keys, got, chunk.n);
    expect(Buffer.from(got.subarray(0, 2 * 200 * 16)).equals(Buffer.from(want.subarray(0, 2 * 200 * 16)))).toBe(true);
    expect(got.subarray(2 * 200 * 16).every((b) => b === 0xee)).toBe(true);
  });

  test("a chunk holds the flow it was given: key, counts and growth come back unchanged", () => {
    const next = rng(3);
    const chunk = new DueChunk(64);
    const flows = Array.from({ length: 64 }, () => randomGrowth(next));
    flows.forEach((g) => chunk.addGrowth(g));
    expect(chunk.full).toBe(true);
    flows.forEach((g, i) => {
      expect(chunk.flow(i)).toEqual({ key: g.f.key, rawKey: g.f.rawKey, counts: g.f.counts });
      expect([chunk.dPackets[i], chunk.dBytes[i], chunk.dFragments[i], chunk.reason[i]]).toEqual([g.d.packets, g.d.bytes, g.d.fragments, g.reason]);
    });
  });
});

describe("KernelClock.msOf", () => {
  test("is toMs of the same timestamp as a BigInt, at millisecond edges and up to 2^53 ns, whatever the offset", () => {
    const next = rng(11);
    for (const offset of [0n, 1n, 999_999n, 1_000_000n, 1_764_000_000_123_456_789n, 1_764_000_000_999_999_999n]) {
      const mono = 5_000_000_000n;
      const clock = new KernelClock({ monotonicNs: () => mono, realtimeNs: () => mono + offset });
      clock.sync();
      for (let n = 0; n < 20_000; n++) {
        const ms = Math.floor(next() * 9e9);
        const ns = n % 3 === 0 ? ms * 1e6 - Math.floor(next() * 3) + Number(-offset % 1_000_000n) : Math.floor(next() * Number.MAX_SAFE_INTEGER);
        if (ns < 0 || ns > Number.MAX_SAFE_INTEGER) continue;
        const want = clock.toMs(BigInt(ns));
        if (clock.msOf(ns) !== want) expect({ offset, ns, ms: clock.msOf(ns) }).toEqual({ offset, ns, ms: want });
      }
    }
  });
});
