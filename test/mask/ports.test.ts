import { describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { PortPolicy } from "../../src/mask/ports.ts";

const TCP = 6;
const UDP = 17;
const ICMP = 1;

describe("port policy", () => {
  test("by default no port is kept", () => {
    for (const port of [0, 22, 443, 51234, 65535]) expect(PortPolicy.NONE.apply(TCP, port)).toBeUndefined();
    expect(PortPolicy.parse("none")).toBe(PortPolicy.NONE);
  });

  test("well-known keeps service ports and drops ephemeral ones", () => {
    const p = PortPolicy.parse("well-known");
    expect(p.apply(TCP, 443)).toBe(443);
    expect(p.apply(UDP, 53)).toBe(53);
    expect(p.apply(TCP, 1023)).toBe(1023);
    expect(p.apply(TCP, 1024)).toBeUndefined();
    expect(p.apply(TCP, 51234)).toBeUndefined();
  });

  test("lists and ranges combine", () => {
    const p = PortPolicy.parse(" well-known, 3306 ,8000-8099");
    expect(p.spec).toBe("well-known,3306,8000-8099");
    expect([80, 3306, 8000, 8099].map((x) => p.apply(TCP, x))).toEqual([80, 3306, 8000, 8099]);
    expect([3307, 7999, 8100].map((x) => p.apply(TCP, x))).toEqual([undefined, undefined, undefined]);
  });

  test("protocols without ports never keep one (ICMP type/code is not a port)", () => {
    expect(PortPolicy.parse("all").apply(ICMP, 0x0800)).toBeUndefined();
    expect(PortPolicy.parse("all").apply(TCP, 0)).toBe(0);
  });

  test("bad specs are CONFIG errors naming the source and the bad item", () => {
    for (const bad of ["80,abc", "0", "65536", "90-80", "none,80", "1-2-3"]) {
      let err: unknown;
      try {
        PortPolicy.parse(bad, "ATO_MASK_KEEP_PORTS");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AtoError);
      expect((err as AtoError).code).toBe("CONFIG");
      expect((err as AtoError).message).toContain("ATO_MASK_KEEP_PORTS");
    }
  });
});
