/**
 * Flow records written as bytes are the records canonicalize() writes, byte for byte: the
 * data object over many random flows (every optional member present and absent, ICMP, TCP,
 * VLANs, counts up to 2^53, interface names that need escaping, tokens, seals), and the whole
 * line (envelope, seq, ts) against encodeLines. No kernel needed.
 */
import { describe, expect, test } from "bun:test";
import { KernelClock } from "../../src/collector/index.ts";
import { IsoTimes, StringCache, writeFlowData } from "../../src/collector/flow-line.ts";
import { flowRecord } from "../../src/collector/records.ts";
import type { Growth } from "../../src/collector/baseline.ts";
import { canonicalize } from "../../src/evidence/index.ts";
import { JsonBytes } from "../../src/log/index.ts";
import { encodeBodies, encodeLines } from "../../src/log/encode.ts";
import type { MaskedFlow } from "../../src/mask/index.ts";
import type { ExportReason } from "../../src/collector/index.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const IFACES = ["lo", "eth0", "veth-ato\"q", "wan\\0", "tab\there", "ünï", "ctl\u0001", "emoji😀", "x".repeat(15)];
const REASONS: ExportReason[] = ["idle", "active", "shutdown", "interval", "recreated", "evicted"];
const PROTOS = [1, 6, 17, 58, 47, 132];

function randomFlow(next: () => number): { g: Growth; m: MaskedFlow; iface: string; rid?: string } {
  const pick = <T>(a: T[]) => a[Math.floor(next() * a.length)]!;
  const maybe = <T>(v: T) => (next() < 0.5 ? v : undefined);
  const big = () => (next() < 0.1 ? Math.floor(next() * Number.MAX_SAFE_INTEGER) : next() < 0.2 ? 2 ** 32 + Math.floor(next() * 1000) : Math.floor(next() * 100_000));
  const family = next() < 0.5 ? 4 : 6;
  const proto = pick(PROTOS);
  const packetsTotal = big(), bytesTotal = big();
  const now = 1_000_000_000_000n + BigInt(Math.floor(next() * 1e15));
  const g: Growth = {
    f: {
      key: { family, proto, src: new Uint8Array(16), dst: new Uint8Array(16), sport: Math.floor(next() * 65536), dport: Math.floor(next() * 65536),
        vlan: next() < 0.3 ? Math.floor(next() * 4095) : 0, vlanInner: next() < 0.2 ? 1 + Math.floor(next() * 4094) : 0, ifindex: 1 + Math.floor(next() * 5) },
      rawKey: new Uint8Array(48),
      counts: { packets: BigInt(packetsTotal), bytes: BigInt(bytesTotal), firstSeenNs: now, lastSeenNs: now + BigInt(Math.floor(next() * 1e12)),
        tcpFlags: next() < 0.5 ? Math.floor(next() * 256) : 0, fragments: 0, timingFlags: next() < 0.2 ? Math.floor(next() * 9) : 0, spikes: next() < 0.2 ? Math.floor(next() * 9) : 0 },
    },
    d: { packets: Math.min(packetsTotal, big()), bytes: Math.min(bytesTotal, big()), fragments: next() < 0.2 ? Math.floor(next() * 99) : 0 },
    reason: pick(REASONS),
  };
  const m: MaskedFlow = {
    src: family === 4 ? `198.18.${Math.floor(next() * 256)}.0/24` : `fd00:${Math.floor(next() * 65536).toString(16)}::/48`,
    dst: family === 4 ? "198.19.0.0/24" : "fd00::/48",
    sport: maybe(Math.floor(next() * 65536)), dport: maybe(Math.floor(next() * 65536)),
    src_token: maybe("tok_" + Math.floor(next() * 1e9).toString(36)), dst_token: maybe("tok_x-_"), sealed: maybe("c2VhbGVk+/=="),
  };
  return { g, m, iface: pick(IFACES), rid: maybe("rid" + Math.floor(next() * 1e6)) };
}

describe("flow records as bytes", () => {
  test("the data object is canonicalize(flowRecord(...)) byte for byte, over 20,000 random flows", () => {
    const next = rng(13);
    const clock = new KernelClock();
    const times = new IsoTimes(clock), strings = new StringCache();
    const w = new JsonBytes(64);
    const dec = new TextDecoder();
    for (let n = 0; n < 20_000; n++) {
      const { g, m, iface, rid } = randomFlow(next);
      w.pos = 0;
      writeFlowData(w, g, m, iface, times, strings, rid);
      const expected = canonicalize(flowRecord(g.f, m, g.d, g.reason, iface, clock, rid));
      const got = dec.decode(w.buf.subarray(0, w.pos));
      if (got !== expected) expect({ n, got }).toEqual({ n, got: expected });
    }
  });

  test("whole lines: encodeBodies writes what encodeLines writes (envelope, seq, ts, newlines, leaf hashes)", () => {
    const next = rng(7);
    const clock = new KernelClock();
    const flows = Array.from({ length: 500 }, () => randomFlow(next));
    const data = flows.map(({ g, m, iface, rid }) => flowRecord(g.f, m, g.d, g.reason, iface, clock, rid));
    const times = new IsoTimes(clock), strings = new StringCache();
    const fast = encodeBodies("flow", flows.length, (i, w) => { const f = flows[i]!; writeFlowData(w, f.g, f.m, f.iface, times, strings, f.rid); }, "internal", 12_345, "2026-12-01T09:00:00.123Z");
    const slow = encodeLines("flow", data, "internal", 12_345, "2026-12-01T09:00:00.123Z");
    expect(Buffer.from(fast.text).equals(slow.text)).toBe(true);
    expect(fast.leaves.map((h) => Buffer.from(h).toString("hex"))).toEqual(slow.leaves.map((h) => Buffer.from(h).toString("hex")));
  });

  test("a string with a lone surrogate is refused as canonicalize refuses it", () => {
    const w = new JsonBytes(8);
    expect(() => w.string("bad\ud800")).toThrow(/lone surrogate/);
    expect(() => canonicalize({ s: "bad\ud800" })).toThrow(/lone surrogate/);
  });
});
