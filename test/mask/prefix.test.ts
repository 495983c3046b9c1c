import { describe, expect, test } from "bun:test";
import { AtoError } from "../../src/errors.ts";
import { checkPrefix, DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX, maskTable, prefixMask } from "../../src/mask/prefix.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("prefix masks", () => {
  test("the defaults are IPv4 /24 and IPv6 /48", () => {
    expect([DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX]).toEqual([24, 48]);
  });

  test("known masks: whole bytes, partial bytes, none, all", () => {
    expect(hex(prefixMask(4, 24))).toBe("ffffff00" + "00".repeat(12));
    expect(hex(prefixMask(6, 48))).toBe("ff".repeat(6) + "00".repeat(10));
    expect(hex(prefixMask(4, 0))).toBe("00".repeat(16));
    expect(hex(prefixMask(4, 32))).toBe("ffffffff" + "00".repeat(12));
    expect(hex(prefixMask(4, 20))).toBe("fffff000" + "00".repeat(12));
    expect(hex(prefixMask(6, 1))).toBe("80" + "00".repeat(15));
    expect(hex(prefixMask(6, 127))).toBe("ff".repeat(15) + "fe");
    expect(hex(prefixMask(6, 128))).toBe("ff".repeat(16));
  });

  test("every length has exactly `bits` leading one bits and no others", () => {
    for (const [family, max] of [[4, 32], [6, 128]] as const) {
      for (let bits = 0; bits <= max; bits++) {
        const binary = Array.from(prefixMask(family, bits), (b) => b.toString(2).padStart(8, "0")).join("");
        expect(binary).toBe("1".repeat(bits) + "0".repeat(128 - bits));
      }
    }
  });

  test("the table holds the IPv4 mask then the IPv6 mask", () => {
    expect(hex(maskTable(24, 48))).toBe(hex(prefixMask(4, 24)) + hex(prefixMask(6, 48)));
  });

  test("out-of-range or fractional lengths are CONFIG errors naming the family and range", () => {
    for (const [family, bits] of [[4, 33], [4, -1], [6, 129], [6, 1.5], [4, NaN]] as const) {
      const e = (() => {
        try {
          checkPrefix(family, bits);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(AtoError);
      expect((e as AtoError).code).toBe("CONFIG");
      expect((e as AtoError).message).toContain(`IPv${family}`);
      expect((e as AtoError).message).toContain(String(bits));
    }
  });
});
