/**
 * The writer's leaf hashes of a chunk are RFC 9162 leaf hashes whichever hasher runs: the SHA-NI batch
 * routine when this CPU has it, Bun.SHA256 line by line otherwise; and the buffer is left as it was.
 */
import { afterEach, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { forceSha256PathForTests, nativeSha256 } from "../../ffi/sha256.ts";
import { hashLeaves } from "../../src/log/leaves.ts";

afterEach(() => forceSha256PathForTests(undefined));

function chunk(lengths: number[]): { buf: Uint8Array; spans: Uint32Array } {
  const buf = new Uint8Array(1 + lengths.reduce((a, n) => a + n + 1, 0));
  const spans = new Uint32Array(2 * lengths.length);
  let at = 1;
  lengths.forEach((n, i) => {
    for (let b = 0; b < n; b++) buf[at + b] = 0x20 + ((i * 31 + b * 7) % 90);
    spans[2 * i] = at;
    spans[2 * i + 1] = n;
    buf[at + n] = 0x0a;
    at += n + 1;
  });
  return { buf, spans };
}

function expected(buf: Uint8Array, spans: Uint32Array, count: number): Uint8Array {
  const out = new Uint8Array(32 * count);
  for (let i = 0; i < count; i++) {
    const line = buf.subarray(spans[2 * i]!, spans[2 * i]! + spans[2 * i + 1]!);
    out.set(createHash("sha256").update(Uint8Array.of(0)).update(line).digest(), 32 * i);
  }
  return out;
}

for (const path of ["native when available", "Bun.SHA256"] as const) {
  test(`leaf hashes of a chunk equal SHA-256(0x00 || line) (${path})`, () => {
    if (path === "Bun.SHA256") forceSha256PathForTests(false);
    const lengths = [0, 1, 54, 55, 56, 63, 64, 65, 119, 120, 280, 281, 4096, ...Array.from({ length: 200 }, (_, i) => (i * 97) % 700)];
    const { buf, spans } = chunk(lengths);
    const before = buf.slice();
    const out = new Uint8Array(32 * lengths.length);
    hashLeaves(buf, spans, lengths.length, out);
    expect(Buffer.from(out).equals(Buffer.from(expected(buf, spans, lengths.length)))).toBe(true);
    expect(Buffer.from(buf).equals(Buffer.from(before))).toBe(true);
  });
}

test("on a CPU with SHA-NI the writer takes the native hasher", () => {
  const hasShaNi = process.arch === "x64" && /\bsha_ni\b/.test(require("node:fs").readFileSync("/proc/cpuinfo", "utf8"));
  expect(nativeSha256() !== undefined).toBe(hasShaNi);
});
