/** The libatomask.so binding: its checks keep every call inside the caller's buffers. */
import { describe, expect, test } from "bun:test";
import { KEY_BYTES, MaskLibrary } from "../../ffi/mask.ts";
import { maskBatchReference } from "../../src/mask/reference.ts";

const masks = new Uint8Array(32).fill(0xff);
const probe = MaskLibrary.open();
const hasAvx2 = probe.avx2Available;
probe.close();

describe("MaskLibrary", () => {
  test("refuses lengths that would take the routine outside the buffers", () => {
    const lib = MaskLibrary.open({ simd: "sse2" });
    try {
      const internal = expect.objectContaining({ code: "INTERNAL" });
      expect(() => lib.maskBatch(new Uint8Array(32), new Uint8Array(1), masks)).toThrow(internal); // 2 slots, 1 selector
      expect(() => lib.maskBatch(new Uint8Array(32), new Uint8Array(4), masks, 3)).toThrow(internal); // count past the slots
      expect(() => lib.maskBatch(new Uint8Array(32), new Uint8Array(2), masks.subarray(0, 16))).toThrow(internal);
      expect(() => lib.maskBatch(new Uint8Array(32), new Uint8Array(2), masks, -1)).toThrow(internal);
      expect(() => lib.maskBatch(new Uint8Array(32), new Uint8Array(2), masks, 1.5)).toThrow(internal);
    } finally {
      lib.close();
    }
  });

  test("a slot buffer that is not whole slots masks its whole slots only", () => {
    const lib = MaskLibrary.open();
    try {
      const slots = new Uint8Array(40).fill(0xab);
      lib.maskBatch(slots, new Uint8Array(2), new Uint8Array(32));
      expect(Array.from(slots)).toEqual([...new Array(32).fill(0), ...new Array(8).fill(0xab)]);
    } finally {
      lib.close();
    }
  });

  test("maskKeys masks each key's src and dst into its slot pair by the key's family, as the copy and maskBatch do", () => {
    const lib = MaskLibrary.open();
    try {
      let seed = 7;
      const byte = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24);
      const table = Uint8Array.from({ length: 32 }, byte);
      for (const n of [0, 1, 2, 5, 33]) {
        const keys = Uint8Array.from({ length: n * KEY_BYTES + 7 }, byte);
        for (let i = 0; i < n; i++) keys[i * KEY_BYTES + 44] = [4, 6, 6, 4, 0, 7, 255][i % 7]!; // only 6 is IPv6
        const before = keys.slice();
        const want = new Uint8Array(2 * n * 16), sel = new Uint8Array(2 * n);
        for (let i = 0; i < n; i++) {
          want.set(keys.subarray(i * KEY_BYTES, i * KEY_BYTES + 32), 32 * i);
          sel[2 * i] = sel[2 * i + 1] = keys[i * KEY_BYTES + 44] === 6 ? 1 : 0;
        }
        maskBatchReference(want, sel, table);
        const got = new Uint8Array(2 * n * 16 + 16).fill(0xcd);
        lib.maskKeys(keys, got, table, n);
        expect(Array.from(got.subarray(0, 32 * n))).toEqual(Array.from(want));
        expect(Array.from(got.subarray(32 * n))).toEqual(new Array(16).fill(0xcd)); // nothing past the pairs
        expect(keys).toEqual(before);
      }
      const internal = expect.objectContaining({ code: "INTERNAL" });
      expect(() => lib.maskKeys(new Uint8Array(KEY_BYTES), new Uint8Array(64), masks, 2)).toThrow(internal); // keys for 1
      expect(() => lib.maskKeys(new Uint8Array(2 * KEY_BYTES), new Uint8Array(63), masks, 2)).toThrow(internal); // slots for 1
      expect(() => lib.maskKeys(new Uint8Array(KEY_BYTES), new Uint8Array(32), masks.subarray(0, 16), 1)).toThrow(internal);
      expect(() => lib.maskKeys(new Uint8Array(KEY_BYTES), new Uint8Array(32), masks, -1)).toThrow(internal);
    } finally {
      lib.close();
    }
  });

  test("after close() a call is an error, not a crash; closing twice is harmless", () => {
    const lib = MaskLibrary.open();
    lib.close();
    lib.close();
    expect(() => lib.maskBatch(new Uint8Array(16), new Uint8Array(1), masks)).toThrow(expect.objectContaining({ code: "INTERNAL" }));
    expect(() => lib.maskKeys(new Uint8Array(KEY_BYTES), new Uint8Array(32), masks, 1)).toThrow(expect.objectContaining({ code: "INTERNAL" }));
  });

  test.skipIf(hasAvx2)("forcing AVX2 where the CPU lacks it is a CONFIG error", () => {
    expect(() => MaskLibrary.open({ simd: "avx2" })).toThrow(expect.objectContaining({ code: "CONFIG" }));
  });
});
