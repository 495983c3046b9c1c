/**
 * Entry point for native.test.ts: compiled with `bun build --compile`, it loads the embedded libatomask.so,
 * masks one address, and prints what happened as JSON (or the AtoError's code and message).
 */
import { MaskLibrary } from "../../ffi/mask.ts";
import { isAtoError } from "../../src/errors.ts";

try {
  const lib = MaskLibrary.open();
  const slot = Uint8Array.of(198, 18, 1, 7, ...new Array(12).fill(0));
  const masks = new Uint8Array(32);
  masks.fill(0xff, 0, 3);
  lib.maskBatch(slot, new Uint8Array(1), masks);
  console.log(JSON.stringify({ file: lib.file, path: lib.path, masked: Array.from(slot.subarray(0, 4)) }));
  lib.close();
} catch (e) {
  console.log(JSON.stringify(isAtoError(e) ? { code: e.code, message: e.message } : { error: String(e) }));
  process.exitCode = 1;
}
