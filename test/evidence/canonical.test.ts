/** RFC 8785 canonical JSON: the RFC's own examples, and the inputs ato refuses. */
import { describe, expect, test } from "bun:test";
import { canonicalize } from "../../src/evidence/index.ts";

describe("canonicalize (RFC 8785)", () => {
  test("§3.2.2 example: numbers, string escapes and literals", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  test("§3.2.3 example: members sorted by UTF-16 code units", () => {
    const input = { "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis" };
    // Read the order off the text: JSON.parse would put the integer-like key "1" first again.
    const order = [...canonicalize(input).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]);
  });

  test("Appendix B number forms", () => {
    const cases: [number, string][] = [[0, "0"], [-0, "0"], [1e21, "1e+21"], [1e-7, "1e-7"], [0.000001, "0.000001"], [9007199254740991, "9007199254740991"], [-1.5, "-1.5"], [5e-324, "5e-324"], [1.7976931348623157e308, "1.7976931348623157e+308"]];
    for (const [n, s] of cases) expect(canonicalize(n)).toBe(s);
  });

  test("nested objects are sorted at every level; undefined members are left out", () => {
    expect(canonicalize({ b: { z: 1, a: [{ y: 2, x: undefined }] }, a: null })).toBe('{"a":null,"b":{"a":[{"y":2}],"z":1}}');
  });

  test("safe bigints become numbers", () => {
    expect(canonicalize({ packets: 12n })).toBe('{"packets":12}');
  });

  test("refuses what JSON cannot carry unchanged", () => {
    for (const bad of [NaN, Infinity, 2n ** 60n, "\ud800", new Date(0), new Uint8Array(1), () => 1, [undefined], Symbol("s")]) {
      expect(() => canonicalize({ x: bad })).toThrow(/plain JSON/);
    }
  });

  test("an error names where the bad value is", () => {
    expect(() => canonicalize({ flows: [{ ok: 1 }, { packets: NaN }] })).toThrow("found the number NaN (JSON has no NaN or Infinity) at $.flows[1].packets");
    expect(() => canonicalize({ a: { "\ud800": 1 } })).toThrow("found a member name with a lone surrogate at $.a");
    expect(() => canonicalize([new Date(0)])).toThrow("found a Date object at $[0]");
  });

  test("strings outside printable ASCII are escaped as JSON.stringify does", () => {
    for (const s of ['quote " and \\ backslash', "tab\tnewline\n\u0001", "é ü 漢字 😀", "\u007f", ""]) {
      expect(canonicalize({ s })).toBe(`{"s":${JSON.stringify(s)}}`);
    }
  });
});
