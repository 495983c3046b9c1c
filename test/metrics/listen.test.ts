/** --listen ADDR:PORT parsing. */
import { describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { DEFAULT_LISTEN, parseListen, readListen } from "../../src/metrics/index.ts";

describe("parseListen", () => {
  test("defaults to this host only", () => {
    expect(parseListen(DEFAULT_LISTEN)).toEqual({ hostname: "127.0.0.1", port: 9400, text: "127.0.0.1:9400" });
  });

  test.each([
    ["0.0.0.0:9400", "0.0.0.0", 9400, "0.0.0.0:9400"],
    ["[::1]:9400", "::1", 9400, "[::1]:9400"],
    ["[::]:9401", "::", 9401, "[::]:9401"],
    ["[fe80::1%eth0]:9400", "fe80::1%eth0", 9400, "[fe80::1%eth0]:9400"],
    ["localhost:8080", "localhost", 8080, "localhost:8080"],
    ["9500", "127.0.0.1", 9500, "127.0.0.1:9500"],
    ["127.0.0.1:0", "127.0.0.1", 0, "127.0.0.1:0"],
  ])("%s", (input, hostname, port, text) => {
    expect(parseListen(input)).toEqual({ hostname, port, text });
  });

  test.each([
    ["::1:9400", "in brackets"],
    [":9400", "the address too"],
    ["127.0.0.1:65536", "a port from 0 to 65535"],
    ["127.0.0.1", "ADDR:PORT"],
    ["999.1.1.1:9400", "a valid IPv4 address"],
    ["[zz::1]:9400", "a valid IPv6 address"],
    ["http://x:9400", "ADDR:PORT"],
    ["", "ADDR:PORT"],
  ])("refuses %p, saying %s", (input, hint) => {
    const r = readListen(input);
    expect("expected" in r && r.expected).toContain(hint);
    let err: unknown;
    try {
      parseListen(input, "ATO_LISTEN");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtoError);
    expect((err as AtoError).code).toBe("CONFIG");
    expect((err as AtoError).message).toStartWith("ATO_LISTEN must be ADDR:PORT");
    expect((err as AtoError).message).toEndWith(`got '${input}'`);
  });
});
