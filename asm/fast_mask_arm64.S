// fast_mask_arm64.S: the masking routine of asm/fast_mask.asm for arm64 (AArch64, NEON), with
// the same entry points and ABI, so ffi/mask.ts binds either file unchanged:
//
//   void ato_mask_batch(uint8_t *slots, const uint8_t *sel, const uint8_t *masks, uint64_t count)
//
//   slots  count x 16 bytes, masked in place
//   sel    count bytes; slot i is ANDed with mask (sel[i] & 1); the other bits are ignored
//   masks  2 x 16 bytes: mask 0 (IPv4) then mask 1 (IPv6)
//
// NEON is part of every AArch64 CPU (Advanced SIMD is mandatory), so there is nothing to probe:
// ato_mask_path() reports 3, the 16-byte NEON path. ato_mask_batch_sse2 and _avx2 exist because
// the binding asks for every symbol; on arm64 both run the same NEON routine.
// No pointer needs any alignment (ld1/st1 of bytes); with count 0 no pointer is read.
// AAPCS64: x0 = slots, x1 = sel, x2 = masks, x3 = count.

        .text
        .global ato_mask_abi_version
        .type   ato_mask_abi_version, %function
ato_mask_abi_version:
        mov     w0, #2
        ret

        .global ato_mask_path
        .type   ato_mask_path, %function
ato_mask_path:
        mov     w0, #3
        ret

        .global ato_mask_batch
        .type   ato_mask_batch, %function
        .global ato_mask_batch_sse2
        .type   ato_mask_batch_sse2, %function
        .global ato_mask_batch_avx2
        .type   ato_mask_batch_avx2, %function
// One slot per step, branch-free: sel's low bit, spread to all 16 lanes, selects mask 1 over
// mask 0 (bsl), and the slot is ANDed with it.
ato_mask_batch:
ato_mask_batch_sse2:
ato_mask_batch_avx2:
        cbz     x3, 2f
        ld1     {v0.16b}, [x2], #16     // mask 0
        ld1     {v1.16b}, [x2]          // mask 1
1:
        ldrb    w4, [x1], #1
        and     w4, w4, #1
        neg     w4, w4                  // 0 or all ones
        dup     v2.16b, w4
        bsl     v2.16b, v1.16b, v0.16b  // sel ? mask 1 : mask 0
        ld1     {v3.16b}, [x0]
        and     v3.16b, v3.16b, v2.16b
        st1     {v3.16b}, [x0], #16
        subs    x3, x3, #1
        b.ne    1b
2:
        ret

// void ato_mask_keys(const uint8_t *keys, uint8_t *slots, const uint8_t *masks, uint64_t count)
// (asm/fast_mask.asm's contract): key i's src and dst (48-byte keys, family at 44) ANDed with
// mask 1 when its family is 6, else mask 0, written to slots 2i and 2i + 1.
// x0 = keys, x1 = slots, x2 = masks, x3 = count.
        .global ato_mask_keys
        .type   ato_mask_keys, %function
ato_mask_keys:
        cbz     x3, 2f
        ld1     {v0.16b}, [x2], #16     // mask 0
        ld1     {v1.16b}, [x2]          // mask 1
1:
        ldrb    w4, [x0, #44]
        cmp     w4, #6
        csetm   w4, eq                  // all ones for IPv6
        dup     v2.16b, w4
        bsl     v2.16b, v1.16b, v0.16b
        ld1     {v3.16b, v4.16b}, [x0]
        and     v3.16b, v3.16b, v2.16b
        and     v4.16b, v4.16b, v2.16b
        st1     {v3.16b, v4.16b}, [x1], #32
        add     x0, x0, #48
        subs    x3, x3, #1
        b.ne    1b
2:
        ret

        .section .note.GNU-stack, "", %progbits
