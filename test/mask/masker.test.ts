import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { createSecretKey, randomBytes } from "node:crypto";
import { MaskLibrary } from "../../ffi/mask.ts";
import { AtoError } from "../../src/errors.ts";
import { parseAddress } from "../../src/mask/format.ts";
import { type FlowAddresses, Masker } from "../../src/mask/masker.ts";
import { PortPolicy } from "../../src/mask/ports.ts";
import { Tokenizer } from "../../src/mask/tokens.ts";

const TCP = 6;
const UDP = 17;
const ICMP = 1;

function flow(src: string, dst: string, proto: number, sport: number, dport: number): FlowAddresses {
  const s = parseAddress(src);
  return { family: s.family, src: s.slot, dst: parseAddress(dst).slot, proto, sport, dport };
}

const batch = [
  flow("198.18.1.7", "198.18.0.2", TCP, 51234, 443),
  flow("fd00:1:2:3::7", "fd00:1:99::1", UDP, 53, 40000),
  flow("198.18.200.1", "198.19.0.9", ICMP, 0, 0x0800),
];

const maskers: Masker[] = [];
function open(options: Parameters<typeof Masker.open>[0] = {}): Masker {
  const m = Masker.open(options);
  maskers.push(m);
  return m;
}
afterAll(() => maskers.forEach((m) => m.close()));

describe("Masker", () => {
  test("defaults: IPv4 /24, IPv6 /48, no ports, no tokens, no seal; mixed families in one batch", () => {
    expect(open().maskFlows(batch)).toEqual([
      { src: "198.18.1.0/24", dst: "198.18.0.0/24" },
      { src: "fd00:1:2::/48", dst: "fd00:1:99::/48" },
      { src: "198.18.200.0/24", dst: "198.19.0.0/24" },
    ]);
  });

  test("prefixes and kept ports are configurable", () => {
    const m = open({ ipv4Prefix: 16, ipv6Prefix: 32, keepPorts: PortPolicy.parse("well-known") });
    expect(m.maskFlows(batch)).toEqual([
      { src: "198.18.0.0/16", dst: "198.18.0.0/16", dport: 443 },
      { src: "fd00:1::/32", dst: "fd00:1::/32", sport: 53 },
      { src: "198.18.0.0/16", dst: "198.19.0.0/16" },
    ]);
  });

  test("one FFI call masks the whole batch, and the caller's addresses are not modified", () => {
    const m = open();
    const before = batch.map((f) => [f.src.slice(), f.dst.slice()]);
    const spy = spyOn(MaskLibrary.prototype, "maskBatch");
    try {
      m.maskFlows(batch);
      expect(spy).toHaveBeenCalledTimes(1);
      expect((spy.mock.calls[0]![0] as Uint8Array).byteLength).toBe(batch.length * 2 * 16);
    } finally {
      spy.mockRestore();
    }
    expect(batch.map((f) => [f.src, f.dst])).toEqual(before);
  });

  test("an empty batch gives an empty result", () => {
    expect(open().maskFlows([])).toEqual([]);
  });

  test("tokens are of the full addresses; sealed fields reveal the full addresses and ports", () => {
    const tokenKey = createSecretKey(randomBytes(32));
    const m = open({ tokenKey, sealKey: createSecretKey(randomBytes(32)) });
    const ids = ["r1", "r2", "r3"];
    const out = m.maskFlows(batch, ids);
    const t = new Tokenizer(tokenKey);
    expect(out[0]!.src_token).toBe(t.token(4, batch[0]!.src));
    expect(out[1]!.dst_token).toBe(t.token(6, batch[1]!.dst));
    expect(m.reveal(out[0]!.sealed!, "r1")).toEqual({ src: "198.18.1.7", dst: "198.18.0.2", sport: 51234, dport: 443 });
    expect(m.reveal(out[1]!.sealed!, "r2")).toEqual({ src: "fd00:1:2:3::7", dst: "fd00:1:99::1", sport: 53, dport: 40000 });
    expect(m.reveal(out[2]!.sealed!, "r3")).toEqual({ src: "198.18.200.1", dst: "198.19.0.9" });
    expect(() => m.reveal(out[0]!.sealed!, "r2")).toThrow(AtoError);
  });

  test("sealing without one identity per flow is a bug, reported as INTERNAL", () => {
    const m = open({ sealKey: createSecretKey(randomBytes(32)) });
    expect(() => m.maskFlows(batch)).toThrow(expect.objectContaining({ code: "INTERNAL" }));
    expect(() => m.maskFlows(batch, ["r1"])).toThrow(expect.objectContaining({ code: "INTERNAL" }));
  });

  test("a flow with an unknown family is CORRUPT", () => {
    const bad = { ...batch[0]!, family: 0 as 4 };
    expect(() => open().maskFlows([bad])).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });

  test("bad prefixes fail before the library opens", () => {
    expect(() => Masker.open({ ipv4Prefix: 40 })).toThrow(expect.objectContaining({ code: "CONFIG" }));
  });

  test("revealing without a seal key is a CONFIG error", () => {
    expect(() => open().reveal("v1.x.y.z", "r1")).toThrow(expect.objectContaining({ code: "CONFIG" }));
  });

  test("the forced SSE2 path gives the same records", () => {
    const keep = PortPolicy.parse("all");
    expect(open({ simd: "sse2", keepPorts: keep }).maskFlows(batch)).toEqual(open({ keepPorts: keep }).maskFlows(batch));
  });
});

test("options given as undefined keep their defaults", () => {
  expect(open({ ipv4Prefix: undefined, ipv6Prefix: undefined }).maskFlows(batch.slice(0, 2))).toEqual([
    { src: "198.18.1.0/24", dst: "198.18.0.0/24" },
    { src: "fd00:1:2::/48", dst: "fd00:1:99::/48" },
  ]);
});
