/**
 * Errors by kind: the verifier turns only the input's faults into findings (CORRUPT from the
 * evidence parsers, invalid UTF-8 from the decoder, the reader's line limit) and a failed
 * system call into a usage error; anything else it meets is a bug, and propagates to the
 * top level, which says "internal error" (exit 70), never "tampered".
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { parseLine, structureProblem } from "../../src/verify/bounded.ts";
import { readLines } from "../../src/verify/read.ts";
import { RunState } from "../../src/verify/state.ts";
import { tempDir } from "../log/_helpers.ts";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(text: string) {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text);
  const fd = openSync(path, "r");
  return { path, fd, size: text.length, order: 1, active: false, close: () => closeSync(fd) };
}

describe("verify's errors by kind", () => {
  test("a bug in a line handler propagates: not a finding, not a usage error", () => {
    const f = input("a\nb\n");
    const s = new RunState({ keys: [] });
    expect(() => readLines(s, f, () => { throw new TypeError("a bug"); })).toThrow(TypeError);
    const corrupt = new AtoError("thrown by the handler", "CORRUPT");
    expect(() => readLines(s, f, () => { throw corrupt; })).toThrow(corrupt); // not mistaken for the reader's line limit
    expect(s.findings.counts.tampered).toBe(0);
    f.close();
  });

  test("the reader's line limit is a finding; a failed read is a usage error", () => {
    const f = input(`${"x".repeat((1 << 20) + 1)}\n`);
    const s = new RunState({ keys: [] });
    expect(readLines(s, f, () => {}).cut).toBe(true);
    expect(s.findings.counts.tampered).toBe(1);
    f.close(); // a closed descriptor: EBADF
    const e = (() => { try { readLines(s, f, () => {}); } catch (x) { return x; } })() as AtoError;
    expect(e).toBeInstanceOf(AtoError);
    expect(e.code).toBe("USAGE");
  });

  test("input faults are reasons, not exceptions", () => {
    const bytes = (t: string | number[]) => (typeof t === "string" ? Buffer.from(t) : Uint8Array.from(t));
    const reason = (b: Uint8Array) => { const p = parseLine(b, 0, b.length); return p.rec ? undefined : p.problem; };
    expect(reason(bytes([0x7b, 0xff, 0x7d]))).toContain("not valid UTF-8");
    expect(reason(bytes("{nope"))).toContain("not JSON");
    expect(reason(bytes("[".repeat(33) + "]".repeat(33)))).toContain("deeper than 32");
    expect(structureProblem(bytes('["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]'), 0, 44)).toBeUndefined(); // brackets in a string do not nest
  });
});
