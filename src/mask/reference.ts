/**
 * The TypeScript reference for asm/fast_mask.asm, byte for byte the same contract: slot i of `slots` is ANDed
 * in place with mask (sel[i] & 1) of the 2 x 16-byte `masks` table. Parity tests hold the SIMD routines to it;
 * the product path is the routine (src/mask/masker.ts).
 */
import { SLOT_BYTES } from "./slot.ts";

export function maskBatchReference(slots: Uint8Array, sel: Uint8Array, masks: Uint8Array, count = Math.floor(slots.length / SLOT_BYTES)): void {
  for (let i = 0; i < count; i++) {
    const slot = i * SLOT_BYTES;
    const mask = (sel[i] & 1) * SLOT_BYTES;
    for (let b = 0; b < SLOT_BYTES; b++) slots[slot + b] &= masks[mask + b];
  }
}
