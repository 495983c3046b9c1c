/** Each kind of invalid value is one AtoError("CONFIG") line: the setting, where it came from, what is allowed. */
import { afterAll, describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { resolveConfig, type Env, type Flags } from "../../src/config/index.ts";
import { tempFiles } from "./_files.ts";

const files = tempFiles();
afterAll(() => files.cleanup());

function message(flags: Flags, env: Env = {}): string {
  try {
    resolveConfig({ flags, env });
  } catch (e) {
    expect(e).toBeInstanceOf(AtoError);
    expect((e as AtoError).code).toBe("CONFIG");
    expect((e as AtoError).message).not.toContain("\n");
    return (e as AtoError).message;
  }
  throw new Error("expected a CONFIG error");
}

describe("invalid values", () => {
  test("the stack's example: a mode from the environment", () => {
    expect(message({}, { XDP_MODE: "fast" })).toBe("XDP_MODE must be one of auto, drv, skb, hw; got 'fast' (from environment)");
  });

  test("the same value from a flag names the flag", () => {
    expect(message({ mode: "fast" })).toBe("--mode must be one of auto, drv, skb, hw; got 'fast' (from flag)");
  });

  test("from an env-file: the file and line; from JSON: the file", () => {
    const envFile = files.write("bad.env", "# comment\nXDP_MODE=fast\n");
    expect(message({ config: envFile })).toBe(`XDP_MODE must be one of auto, drv, skb, hw; got 'fast' (from file ${envFile} line 2)`);
    const json = files.write("bad.json", '{"ATO_MAX_FLOWS": -5}');
    expect(message({ config: json })).toBe(`ATO_MAX_FLOWS must be a whole number from 1 to 16777216; got '-5' (from file ${json})`);
  });

  test.each<[string, Flags, Env, string]>([
    ["not a number", { "max-flows": "lots" }, {}, "--max-flows must be a whole number from 1 to 16777216; got 'lots'"],
    ["a fraction where a whole number is needed", { "interval-ms": "2.5" }, {}, "--interval-ms must be a whole number from 10 to 60000; got '2.5'"],
    ["below the range", { "max-flows": "0" }, {}, "--max-flows must be a whole number from 1 to 16777216; got '0'"],
    ["above the range", {}, { ATO_TSCORE: "100000" }, "ATO_TSCORE must be a whole number from 1 to 1000; got '100000'"],
    ["a negative threshold", { "spike-threshold": "-1" }, {}, "--spike-threshold must be a whole number from 0 to 4294967295"],
    ["too few timing samples", { "timing-min-samples": "1" }, {}, "--timing-min-samples must be a whole number from 2"],
    ["a zero period", { "checkpoint-seconds": "0" }, {}, "--checkpoint-seconds must be a number above 0 and at most 86400; got '0'"],
    ["not a boolean", {}, { ATO_TIMING_AUDIT: "maybe" }, "ATO_TIMING_AUDIT must be true or false (or 1/0, yes/no, on/off); got 'maybe'"],
    ["an IPv4 prefix past 32", { "ipv4-prefix": "33" }, {}, "--ipv4-prefix must be an IPv4 prefix length from 0 to 32; got '33'"],
    ["an IPv6 prefix past 128", {}, { ATO_MASK_IPV6_PREFIX: "/129" }, "ATO_MASK_IPV6_PREFIX must be an IPv6 prefix length from 0 to 128; got '/129'"],
    ["a port out of range", { "keep-ports": "443,70000" }, {}, `--keep-ports must be "none", "all", "well-known", ports 1-65535 or ranges N-M, comma-separated; got '443,70000'`],
    ["an unknown SIMD path", {}, { ATO_MASK_SIMD: "avx512" }, "ATO_MASK_SIMD must be one of auto, sse2, avx2; got 'avx512'"],
    ["an interface name that cannot exist", { iface: "this-name-is-far-too-long" }, {}, "--iface must be interface names"],
    ["an IPv6 listen address without brackets", { listen: "::1:9400" }, {}, "--listen must be ADDR:PORT"],
    ["a listen port past 65535", {}, { ATO_LISTEN: "127.0.0.1:99999" }, "ATO_LISTEN must be ADDR:PORT, e.g. 127.0.0.1:9400, 0.0.0.0:9400 or [::1]:9400 (a port from 0 to 65535); got '127.0.0.1:99999' (from environment)"],
    ["a token label past 32 bytes", {}, { HSM_TOKEN_LABEL: "x".repeat(33) }, "HSM_TOKEN_LABEL must be a label of 1 to 32 bytes"],
  ])("%s", (_, flags, env, expected) => {
    expect(message(flags, env)).toStartWith(expected);
  });
});
