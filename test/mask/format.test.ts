import { describe, expect, test } from "bun:test";
import { isIPv6 } from "node:net";
import { AtoError } from "../../src/errors.ts";
import { formatAddress, parseAddress } from "../../src/mask/format.ts";
import { maskTable } from "../../src/mask/prefix.ts";
import { maskBatchReference } from "../../src/mask/reference.ts";
import { prng, SEED } from "./_random.ts";

function masked(text: string, v4: number, v6: number): string {
  const { family, slot } = parseAddress(text);
  maskBatchReference(slot, Uint8Array.of(family === 4 ? 0 : 1), maskTable(v4, v6));
  return formatAddress(family, slot, family === 4 ? v4 : v6);
}

describe("address text", () => {
  test("masked addresses read as network/prefix", () => {
    expect(masked("198.18.1.7", 24, 48)).toBe("198.18.1.0/24");
    expect(masked("fd00:1:2:3::7", 24, 48)).toBe("fd00:1:2::/48");
    expect(masked("10.1.2.3", 0, 48)).toBe("0.0.0.0/0");
    expect(masked("2001:db8:abcd:12::1", 24, 56)).toBe("2001:db8:abcd::/56");
    expect(masked("2001:db8:abcd:1234::1", 24, 56)).toBe("2001:db8:abcd:1200::/56");
  });

  test("IPv6 follows RFC 5952: lowercase, no leading zeros, longest (first) zero run, no :: for one group", () => {
    const cases: Record<string, string> = {
      "2001:0DB8:0000:0000:0000:0000:0000:0001": "2001:db8::1",
      "2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1",
      "2001:db8:0:1:1:1:1:1": "2001:db8:0:1:1:1:1:1",
      "2001:0:0:1:0:0:0:1": "2001:0:0:1::1",
      "0:0:0:0:0:0:0:0": "::",
      "0:0:0:0:0:0:0:1": "::1",
      "1:0:0:0:0:0:0:0": "1::",
      "::ffff:198.18.0.1": "::ffff:198.18.0.1",
      "64:ff9b::198.18.0.1": "64:ff9b::c612:1",
    };
    for (const [input, canonical] of Object.entries(cases)) {
      const { family, slot } = parseAddress(input);
      expect({ input, out: formatAddress(family, slot) }).toEqual({ input, out: canonical });
    }
  });

  test("IPv4 slots keep the 12 trailing bytes zero", () => {
    const { family, slot } = parseAddress("198.18.0.1");
    expect(family).toBe(4);
    expect(Buffer.from(slot).toString("hex")).toBe("c6120001" + "00".repeat(12));
  });

  test(`random IPv6 slots round-trip through text, which node:net accepts (seed ${SEED})`, () => {
    const r = prng(SEED);
    for (let i = 0; i < 2000; i++) {
      const slot = r.bytes(16);
      for (let g = 0; g < 8; g++) if (r.next() < 0.4) slot.fill(0, 2 * g, 2 * g + 2); // zero runs
      const text = formatAddress(6, slot);
      expect(isIPv6(text)).toBe(true);
      expect(parseAddress(text).slot).toEqual(slot);
    }
  });

  test("malformed addresses are errors that quote the input", () => {
    for (const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "1.2.3.4::", "fe80::1%eth0", "12345::", "g::"]) {
      expect(() => parseAddress(bad)).toThrow(AtoError);
      expect(() => parseAddress(bad)).toThrow(`"${bad}"`);
    }
  });
});
