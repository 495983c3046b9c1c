/** The libatomask.so binding: its checks keep every call inside the caller's buffers. */
import { describe, expect, test } from "bun:test";
import { MaskLibrary } from "../../ffi/mask.ts";

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

  test("after close() a call is an error, not a crash; closing twice is harmless", () => {
    const lib = MaskLibrary.open();
    lib.close();
    lib.close();
    expect(() => lib.maskBatch(new Uint8Array(16), new Uint8Array(1), masks)).toThrow(expect.objectContaining({ code: "INTERNAL" }));
  });

  test.skipIf(hasAvx2)("forcing AVX2 where the CPU lacks it is a CONFIG error", () => {
    expect(() => MaskLibrary.open({ simd: "avx2" })).toThrow(expect.objectContaining({ code: "CONFIG" }));
  });
});
