/**
 * The SIMD routines (every entry point this CPU can run) give the same bytes as the TypeScript reference, for
 * random addresses, prefixes, selectors and batch sizes, on unaligned views, and never touch a byte outside
 * the batch. Needs dist/lib/libatomask.so (bash scripts/build.sh).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { MaskLibrary, type SimdChoice } from "../../ffi/mask.ts";
import { maskTable } from "../../src/mask/prefix.ts";
import { maskBatchReference } from "../../src/mask/reference.ts";
import { prng, type Random, SEED } from "./_random.ts";

const auto = MaskLibrary.open();
const libs: Partial<Record<SimdChoice, MaskLibrary>> = {
  auto,
  sse2: MaskLibrary.open({ simd: "sse2" }),
  ...(auto.avx2Available ? { avx2: MaskLibrary.open({ simd: "avx2" }) } : {}),
};
afterAll(() => Object.values(libs).forEach((lib) => lib.close()));

const GUARD = 19; // bytes after each view, an odd number so no routine can stay aligned by accident
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 1000];

interface Case {
  count: number;
  slotBuf: Uint8Array; // guard bytes | slots | guard bytes
  selBuf: Uint8Array;
  maskBuf: Uint8Array;
  at: { slots: number; sel: number; masks: number };
}

function makeCase(r: Random, count: number, at: Case["at"], masks: Uint8Array): Case {
  const maskBuf = r.bytes(at.masks + masks.length + GUARD);
  maskBuf.set(masks, at.masks);
  return {
    count,
    slotBuf: r.bytes(at.slots + count * 16 + GUARD),
    selBuf: r.bytes(at.sel + count + GUARD), // any byte: only bit 0 selects
    maskBuf,
    at,
  };
}

type Batch = (slots: Uint8Array, sel: Uint8Array, masks: Uint8Array, count: number) => void;

/** Runs `batch` on copies of the case's buffers, through views at the case's offsets; returns the copies. */
function run(c: Case, batch: Batch): { slotBuf: Uint8Array; selBuf: Uint8Array; maskBuf: Uint8Array } {
  const slotBuf = c.slotBuf.slice();
  const selBuf = c.selBuf.slice();
  const maskBuf = c.maskBuf.slice();
  batch(
    slotBuf.subarray(c.at.slots, c.at.slots + c.count * 16),
    selBuf.subarray(c.at.sel, c.at.sel + c.count),
    maskBuf.subarray(c.at.masks, c.at.masks + 32),
    c.count,
  );
  return { slotBuf, selBuf, maskBuf };
}

function expectParity(c: Case, label: string): void {
  const want = run(c, maskBatchReference);
  // The reference itself: masked inside the batch, untouched outside it.
  expect(want.slotBuf.subarray(0, c.at.slots)).toEqual(c.slotBuf.subarray(0, c.at.slots));
  expect(want.slotBuf.subarray(c.at.slots + c.count * 16)).toEqual(c.slotBuf.subarray(c.at.slots + c.count * 16));
  for (const [name, lib] of Object.entries(libs)) {
    const got = run(c, (s, sel, m, n) => lib.maskBatch(s, sel, m, n));
    const where = `${label}, ${name} (${lib.path})`;
    expect({ where, bytes: Buffer.from(got.slotBuf).toString("hex") }).toEqual({ where, bytes: Buffer.from(want.slotBuf).toString("hex") });
    expect({ where, sel: got.selBuf, masks: got.maskBuf }).toEqual({ where, sel: c.selBuf, masks: c.maskBuf });
  }
}

function randomPrefixTable(r: Random): { masks: Uint8Array; v4: number; v6: number } {
  const v4 = r.int(0, 32);
  const v6 = r.int(0, 128);
  return { masks: maskTable(v4, v6), v4, v6 };
}

describe(`SIMD masking matches the TypeScript reference (seed ${SEED})`, () => {
  test("reports a path this CPU can run", () => {
    expect(process.arch === "arm64" ? ["neon"] : ["sse2", "avx2"]).toContain(auto.path);
    expect(libs.sse2!.path).toBe("sse2");
    if (auto.avx2Available) expect(auto.path).toBe("avx2");
  });

  test("every listed batch size, at every view offset 0..15", () => {
    const r = prng(SEED);
    for (const count of SIZES) {
      for (let off = 0; off < 16; off++) {
        const { masks, v4, v6 } = randomPrefixTable(r);
        const at = { slots: off, sel: (off * 7) % 16, masks: (off * 5 + 3) % 16 };
        expectParity(makeCase(r, count, at, masks), `count ${count}, offsets ${JSON.stringify(at)}, /${v4} /${v6}`);
      }
    }
  });

  test("every IPv4 prefix 0..32 and every IPv6 prefix 0..128", () => {
    const r = prng(SEED + 1);
    for (let v4 = 0; v4 <= 32; v4++) expectParity(makeCase(r, 37, { slots: 1, sel: 3, masks: 5 }, maskTable(v4, 48)), `/${v4} /48`);
    for (let v6 = 0; v6 <= 128; v6++) expectParity(makeCase(r, 37, { slots: 9, sel: 0, masks: 1 }, maskTable(24, v6)), `/24 /${v6}`);
  });

  test("random sizes, offsets and arbitrary (non-prefix) mask bytes", () => {
    const r = prng(SEED + 2);
    for (let i = 0; i < 200; i++) {
      const count = r.next() < 0.5 ? r.int(0, 40) : r.int(41, 5000);
      const at = { slots: r.int(0, 15), sel: r.int(0, 15), masks: r.int(0, 15) };
      const masks = r.next() < 0.5 ? r.bytes(32) : randomPrefixTable(r).masks;
      expectParity(makeCase(r, count, at, masks), `case ${i}: count ${count}, offsets ${JSON.stringify(at)}`);
    }
  });

  test("a count below the view's length masks only that many slots", () => {
    const r = prng(SEED + 3);
    const c = makeCase(r, 10, { slots: 3, sel: 1, masks: 2 }, maskTable(24, 48));
    for (const lib of Object.values(libs)) {
      const slotBuf = c.slotBuf.slice();
      lib.maskBatch(slotBuf.subarray(3, 3 + 10 * 16), c.selBuf.subarray(1, 11), c.maskBuf.subarray(2, 34), 6);
      const want = c.slotBuf.slice();
      maskBatchReference(want.subarray(3), c.selBuf.subarray(1), c.maskBuf.subarray(2, 34), 6);
      expect(Array.from(slotBuf)).toEqual(Array.from(want));
      expect(Array.from(slotBuf.subarray(3 + 6 * 16))).toEqual(Array.from(c.slotBuf.subarray(3 + 6 * 16)));
    }
  });
});

describe("the reference pins the contract", () => {
  test("IPv4 /24 and IPv6 /48 by selector bit 0; other selector bits are ignored", () => {
    const slots = Uint8Array.from([
      ...[198, 18, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      ...[0xfd, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7],
      ...[198, 18, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]);
    maskBatchReference(slots, Uint8Array.from([0, 1, 0xfe]), maskTable(24, 48));
    expect(Array.from(slots.subarray(0, 4))).toEqual([198, 18, 1, 0]);
    expect(Array.from(slots.subarray(16, 32))).toEqual([0xfd, 0, 0, 1, 0, 2, ...new Array(10).fill(0)]);
    expect(Array.from(slots.subarray(32, 36))).toEqual([198, 18, 1, 0]);
  });
});
