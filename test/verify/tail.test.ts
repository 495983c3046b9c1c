/**
 * The unsigned tail: lines after the last signed checkpoint are not vouched for by any
 * signature, but a line ato could never have written is tampering (exit 1), not a quiet
 * note: not RFC 8785 canonical, not valid UTF-8, out of sequence, or not a record.
 * A well-formed tail is still accepted as "not signed yet" (exit 0).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecord } from "../../src/evidence/index.ts";
import { flow } from "../log/_helpers.ts";
import { distVerify } from "../support/ato-verify.ts";
import { ACTIVE, readLog, signedLog, type Fixture } from "./_fixture.ts";

let fx: Fixture;
let next: number;

beforeAll(async () => {
  fx = await signedLog();
  next = JSON.parse(readLog(join(fx.base, ACTIVE)).at(-1)!).seq + 1;
});
afterAll(() => fx?.cleanup());

const record = (seq: number) => encodeRecord({ v: 1, seq, ts: "2030-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: flow(seq) });

/** Appends raw lines to the active segment of a copy and verifies it. */
async function withTail(...lines: (string | Uint8Array)[]) {
  const d = fx.copy();
  for (const l of lines) appendFileSync(join(d, ACTIVE), Buffer.concat([Buffer.from(l), Buffer.from("\n")]));
  const r = await distVerify([d, "--pubkey", fx.h.pubkeyPath], { timeoutMs: 20_000 });
  expect(r.stderr).not.toContain("internal error");
  return r;
}

const tailFinding = (r: any) => r.json.findings.find((f: any) => f.severity === "tampered");

describe("ato verify: the unsigned tail is checked", () => {
  test("records ato could have written: not signed yet, exit 0", async () => {
    const r = await withTail(record(next), record(next + 1));
    expect(r.code).toBe(0);
    expect(r.json.total.unsigned_tail).toBe(2);
  });

  test("a record not in canonical form (a space after a colon) → exit 1, at its line", async () => {
    const r = await withTail(record(next), record(next + 1).replace('"proto":6', '"proto": 6'));
    expect(r.code).toBe(1);
    expect(tailFinding(r).message).toContain("not in canonical form");
    expect(tailFinding(r).seq).toBe(next + 1);
  });

  test("members out of order, or a number not in its shortest form → exit 1", async () => {
    expect((await withTail(record(next).replace('"class":"internal","data":', '"data":').replace(',"kind":', ',"class":"internal","kind":'))).code).toBe(1);
    const r = await withTail(record(next).replace('"proto":6', '"proto":6.0'));
    expect(r.code).toBe(1);
    expect(tailFinding(r).message).toContain("not in canonical form");
  });

  test("invalid UTF-8 inside a record's data, its envelope intact → exit 1", async () => {
    const line = Buffer.from(record(next));
    line[line.indexOf("198.18")] = 0xff;
    const r = await withTail(line);
    expect(r.code).toBe(1);
    expect(tailFinding(r).message).toContain("not valid UTF-8");
  });

  test("a seq skipped, or repeated → exit 1", async () => {
    const gap = await withTail(record(next), record(next + 2));
    expect(gap.code).toBe(1);
    expect(tailFinding(gap).message).toContain("seq jumps");
    expect((await withTail(record(next), record(next))).code).toBe(1);
  });

  test("a broken record shape behind a well-formed envelope end → exit 1", async () => {
    const brokenJson = await withTail(record(next).replace('"data":{', '"data":{,'));
    expect(brokenJson.code).toBe(1);
    expect(tailFinding(brokenJson).message).toContain("not an evidence record");
    expect((await withTail(record(next).replace(/"data":\{[^}]*\}/, '"data":[1]'))).code).toBe(1);
  });

  test("a lone surrogate escape (valid JSON, not writable as RFC 8785) → exit 1", async () => {
    const r = await withTail(record(next).replace('"src":"198.18.0.0/24"', '"src":"\\ud800"'));
    expect(r.code).toBe(1);
    expect(tailFinding(r).message).toContain("cannot be written canonically");
  });
});
