// flow_new_arm64.S: asm/flow_new.asm for arm64 (AArch64): the collector's take-in of flows its table does
// not hold yet (ato_new_batch), the copy of DUE rows into a chunk (ato_due_rows) and the recorded counts
// after a write (ato_recorded_rows), with the same entry points, ABI (version 2) and arguments, so
// ffi/scan.ts binds either file unchanged. The contract, the `ptrs` and `sc` layouts and the TypeScript
// loops these must equal bit for bit are in the header of asm/flow_new.asm; this file follows that one
// step by step (the same stops, the same order of stores), so a change there is made here too.
// Linked into arm64's libatoscan.so beside asm/flow_scan_arm64.S, whose scan routine is absent: on arm64
// the collector scans in TypeScript and takes new flows in here.
//
// Scalar arithmetic only (the work is a hash probe and row copies; there is nothing to vectorise).
// Comparisons of doubles use the condition that matches flow_new.asm's on a NaN too: jb -> b.lt (less or
// unordered), ja/jp -> b.hi (greater or unordered), jae -> b.ge (ordered), je/jnp -> b.eq (ordered).
// AAPCS64; they call nothing, so x16/x17 are free scratch; d16-d31 hold the doubles (no d8-d15 to save).

        .set    NEW_ABI_VERSION, 2
        .set    VAL_STRIDE, 88          // percpuStride(FLOW_VALUE.size)
        .set    V_PACKETS, 0
        .set    V_BYTES, 8
        .set    V_FIRST, 16
        .set    V_LAST, 24
        .set    V_TCPFLAGS, 32
        .set    V_FRAGS, 36
        .set    V_TIMING, 80
        .set    V_SPIKES, 84
        .set    ROW_BYTES, 104          // ROW (13) doubles
        .set    R_PACKETS, 0
        .set    R_BYTES, 8
        .set    R_FRAGS, 16
        .set    R_READ_PACKETS, 24
        .set    R_READ_BYTES, 32
        .set    R_READ_FRAGS, 40
        .set    R_FIRST_SEEN, 48
        .set    R_LAST_SEEN, 56
        .set    R_EXPORTED_AT, 64
        .set    R_TCP_FLAGS, 72
        .set    R_TIMING, 80
        .set    R_SPIKES, 88
        .set    R_GEN, 96
        // ato_new_batch's frame: x19-x30 saved at 0..95, then its locals
        .set    L_FINAL, 96
        .set    L_GREW, 104
        .set    L_FLOWS, 112
        .set    L_CPUS, 120
        .set    L_FBYTES, 128
        .set    L_SLOWLEFT, 136
        .set    FRAME, 144

// x19-x30, which ato_new_batch uses, stored (stp) or loaded back (ldp) at the bottom of its frame.
        .macro  callee_saved op
        \op     x19, x20, [sp, #0]
        \op     x21, x22, [sp, #16]
        \op     x23, x24, [sp, #32]
        \op     x25, x26, [sp, #48]
        \op     x27, x28, [sp, #64]
        \op     x29, x30, [sp, #80]
        .endm

// A 48-byte flow key copied from [src] to [dst] through a and b.
        .macro  copy_key dst, src, a, b
        ldp     \a, \b, [\src]
        stp     \a, \b, [\dst]
        ldp     \a, \b, [\src, #16]
        stp     \a, \b, [\dst, #16]
        ldp     \a, \b, [\src, #32]
        stp     \a, \b, [\dst, #32]
        .endm

        .text
        .global ato_new_abi_version
        .type   ato_new_abi_version, %function
ato_new_abi_version:
        mov     w0, #NEW_ABI_VERSION
        ret

// uint64_t ato_new_batch(const uint64_t *ptrs x0, double *sc x1, uint64_t n x2)
// x19 kw, x20 vw, x21 order (+ orderAt), x22 tk, x23 st, x24 row, x25 byProto, x26 index, x27 kind,
// x28 slot; x0 sc, x2 n, x5 mask, x6 out, x7 live, x8 tomb, x12 h, x13 i; d16 idleBefore, d17 idleNs,
// d18 nowNs, d19 activeNs, d20 generation, d21 nextDueNs, d22 growDueNs, d23 maxLoad. x15: the result.
        .global ato_new_batch
        .type   ato_new_batch, %function
ato_new_batch:
        sub     sp, sp, #FRAME
        callee_saved stp
        ldp     x19, x20, [x0]
        ldp     x21, x22, [x0, #16]
        ldp     x23, x24, [x0, #32]
        ldp     x25, x26, [x0, #48]
        ldp     x27, x28, [x0, #64]
        mov     x0, x1                  // sc
        ldr     d0, [x0, #144]          // orderAt
        fcvtzs  x1, d0
        add     x21, x21, x1, lsl #2
        ldp     d16, d17, [x0]          // idleBefore, idleNs
        ldp     d18, d19, [x0, #16]     // nowNs, activeNs
        ldr     d0, [x0, #32]
        fcvtzs  x1, d0
        str     x1, [sp, #L_FINAL]
        ldr     d0, [x0, #40]
        fcvtzs  x1, d0
        str     x1, [sp, #L_CPUS]
        ldr     d0, [x0, #48]
        fcvtzs  x1, d0
        lsl     x1, x1, #2
        str     x1, [sp, #L_FBYTES]
        ldr     d0, [x0, #56]
        fcvtzs  x5, d0
        sub     x5, x5, #1              // capacity - 1
        ldr     d20, [x0, #64]          // generation
        ldp     d21, d22, [x0, #72]     // nextDueNs, growDueNs
        ldr     d0, [x0, #88]
        fcvtzs  x1, d0
        str     x1, [sp, #L_GREW]
        ldr     d0, [x0, #96]
        fcvtzs  x7, d0                  // live
        ldr     d0, [x0, #104]
        fcvtzs  x8, d0                  // tombstones
        ldr     d23, [x0, #112]         // maxLoad
        ldr     d0, [x0, #120]
        fcvtzs  x12, d0                 // h
        ldr     d0, [x0, #128]
        fcvtzs  x6, d0                  // out
        ldr     d0, [x0, #152]
        fcvtzs  x1, d0
        str     x1, [sp, #L_FLOWS]
        str     xzr, [sp, #L_SLOWLEFT]

.Lnb_hand:
        cmp     x12, x2
        b.hs    .Lnb_done
        ldrsw   x13, [x26, x12, lsl #2] // i
        ldr     x1, [sp, #L_FLOWS]
        cmp     x13, x1
        b.hs    .Lnb_badindex           // also a negative one (unsigned): not a flow of the batch
        ldrb    w1, [x27, x12]
        cbz     w1, .Lnb_slowflow
        // DUE (from the scan): kept as it is
        mov     w1, #1
        strb    w1, [x27, x6]
        str     w13, [x26, x6, lsl #2]
        ldr     w1, [x28, x12, lsl #2]
        str     w1, [x28, x6, lsl #2]
        add     x6, x6, #1
        b       .Lnb_nexthand

.Lnb_slowflow:
        // Sums over CPUs, as FlowBatch.countsInto (and lastAll: the latest last_seen of every CPU).
        // x3 packets, x4 bytes, x9 first (0: none yet), x10 last, x11 lastAll, x14 tcpFlags,
        // x15 fragments, x16 timing, x17 spikes; x29 the CPU's value, x30 CPUs left.
        ldr     x1, [sp, #L_FBYTES]
        madd    x29, x13, x1, x20
        ldr     x30, [sp, #L_CPUS]
        mov     x3, #0
        mov     x4, #0
        mov     x9, #0
        mov     x10, #0
        mov     x11, #0
        mov     x14, #0
        mov     x15, #0
        mov     x16, #0
        mov     x17, #0
        cbz     x30, .Lnb_summed
.Lnb_cpu:
        ldr     x1, [x29, #V_LAST]
        cmp     x1, x11
        csel    x11, x1, x11, hi
        ldr     x1, [x29, #V_PACKETS]
        cbz     x1, .Lnb_nextcpu        // this CPU never saw the flow
        add     x3, x3, x1
        ldr     x1, [x29, #V_BYTES]
        add     x4, x4, x1
        ldr     x1, [x29, #V_FIRST]
        cbz     x9, .Lnb_setfirst
        cmp     x1, x9
        b.hs    .Lnb_c2
.Lnb_setfirst:
        mov     x9, x1
.Lnb_c2:
        ldr     x1, [x29, #V_LAST]
        cmp     x1, x10
        csel    x10, x1, x10, hi
        ldr     w1, [x29, #V_TCPFLAGS]
        orr     x14, x14, x1
        ldr     w1, [x29, #V_FRAGS]
        add     x15, x15, x1
        ldr     w1, [x29, #V_TIMING]
        add     x16, x16, x1
        ldr     w1, [x29, #V_SPIKES]
        add     x17, x17, x1
.Lnb_nextcpu:
        add     x29, x29, #VAL_STRIDE
        subs    x30, x30, #1
        b.ne    .Lnb_cpu
.Lnb_summed:
        scvtf   d4, x11                 // lastAll
        fcmp    d4, d16                 // idle: lastAll < idleBefore
        b.lt    .Lnb_slowout
        // Room for one more key within the load, or stop here for the caller to grow the table.
        add     x1, x7, x8
        add     x1, x1, #1
        scvtf   d5, x1
        fcmp    d5, d23
        b.hi    .Lnb_full
        scvtf   d0, x3                  // packets
        scvtf   d1, x4                  // bytes
        scvtf   d2, x9                  // first
        scvtf   d3, x10                 // last
        scvtf   d5, x15                 // fragments
        scvtf   d6, x14                 // tcpFlags
        scvtf   d7, x16                 // timing
        scvtf   d24, x17                // spikes

        // The key's hash (table.ts's hashKey): x9 the flow's key, w10 the hash, then the slot.
        mov     x1, #48
        madd    x9, x13, x1, x19
        movz    w10, #0x9dc5
        movk    w10, #0x811c, lsl #16
        movz    w15, #0x0193
        movk    w15, #0x0100, lsl #16
        .irp    w, 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44
        ldr     w16, [x9, #\w]
        eor     w10, w10, w16
        mul     w10, w10, w15
        .endr
        eor     w10, w10, w10, lsr #16
        movz    w15, #0xca6b
        movk    w15, #0x85eb, lsl #16
        mul     w10, w10, w15
        eor     w10, w10, w10, lsr #13
        movz    w15, #0xae35
        movk    w15, #0xc2b2, lsl #16
        mul     w10, w10, w15
        eor     w10, w10, w10, lsr #16  // the hash (zero-extended in x10)
        and     x10, x10, x5
        mov     x11, #-1                // the first deleted slot passed (reuse)
        mov     x14, x5                 // capacity - 1 more slots after this one
.Lnb_probe:
        ldrb    w15, [x23, x10]
        cbz     w15, .Lnb_empty
        cmp     w15, #2
        b.eq    .Lnb_deleted
        mov     x16, #48
        madd    x16, x10, x16, x22
        ldp     x15, x17, [x16]
        ldp     x1, x30, [x9]
        cmp     x15, x1
        ccmp    x17, x30, #0, eq
        b.ne    .Lnb_nextslot
        ldp     x15, x17, [x16, #16]
        ldp     x1, x30, [x9, #16]
        cmp     x15, x1
        ccmp    x17, x30, #0, eq
        b.ne    .Lnb_nextslot
        ldp     x15, x17, [x16, #32]
        ldp     x1, x30, [x9, #32]
        cmp     x15, x1
        ccmp    x17, x30, #0, eq
        b.ne    .Lnb_nextslot
        // Held at another slot (the map's order moved): that slot is its hint, the general path does the rest.
        str     w10, [x21, x13, lsl #2]
        b       .Lnb_slowout
.Lnb_deleted:
        tbz     x11, #63, .Lnb_nextslot
        mov     x11, x10
.Lnb_nextslot:
        subs    x14, x14, #1
        b.mi    .Lnb_wrapped
        add     x10, x10, #1
        and     x10, x10, x5
        b       .Lnb_probe
.Lnb_wrapped:
        // Every slot visited and none empty: the counts said there was room. Reuse the first deleted
        // slot if one was passed, else stop (returns 4: the binding names it).
        tbz     x11, #63, .Lnb_reuse
        mov     x15, #4
        b       .Lnb_out
.Lnb_empty:
        tbz     x11, #63, .Lnb_reuse
        mov     x11, x10
        b       .Lnb_insert
.Lnb_reuse:
        sub     x8, x8, #1
.Lnb_insert:
        mov     w15, #1
        strb    w15, [x23, x11]
        mov     x16, #48
        madd    x16, x11, x16, x22
        copy_key x16, x9, x15, x17
        add     x7, x7, #1

        // The row, whole: nothing recorded of it yet; exportedAt = first_seen (its active timeout runs from there).
        mov     x16, #ROW_BYTES
        madd    x16, x11, x16, x24
        stp     xzr, xzr, [x16, #R_PACKETS]
        str     xzr, [x16, #R_FRAGS]
        str     d0, [x16, #R_READ_PACKETS]
        str     d1, [x16, #R_READ_BYTES]
        str     d5, [x16, #R_READ_FRAGS]
        str     d2, [x16, #R_FIRST_SEEN]
        str     d3, [x16, #R_LAST_SEEN]
        str     d2, [x16, #R_EXPORTED_AT]
        str     d6, [x16, #R_TCP_FLAGS]
        str     d7, [x16, #R_TIMING]
        str     d24, [x16, #R_SPIKES]
        str     d20, [x16, #R_GEN]
        str     w11, [x21, x13, lsl #2]

        // Growth per protocol (key word 11: family | proto << 8).
        orr     x15, x3, x4
        cbz     x15, .Lnb_bounds
        ldr     w15, [x9, #44]
        ubfx    x15, x15, #8, #8
        add     x15, x25, x15, lsl #4
        ldp     d25, d26, [x15]
        fadd    d25, d25, d0
        fadd    d26, d26, d1
        stp     d25, d26, [x15]
        mov     x15, #1
        str     x15, [sp, #L_GREW]

.Lnb_bounds:
        // The bounds and the due check of Collector.cycle's general path, for a flow with nothing recorded.
        fadd    d25, d4, d17            // lastAll + idleNs
        fcmp    d25, d21
        b.ge    .Lnb_b1
        fmov    d21, d25
.Lnb_b1:
        cbnz    x3, .Lnb_pending
        fcmp    d19, #0.0               // no packets: growth after this read is due at first + active (active not 0)
        b.eq    .Lnb_nexthand
        fadd    d25, d2, d19
        fcmp    d25, d22
        b.ge    .Lnb_nexthand
        fmov    d22, d25
        b       .Lnb_nexthand
.Lnb_pending:
        ldr     x15, [sp, #L_FINAL]
        cbnz    x15, .Lnb_due
        fcmp    d19, #0.0
        b.eq    .Lnb_due                // activeNs 0: every interval
        fsub    d25, d18, d2            // nowNs - first
        fcmp    d25, d19
        b.ge    .Lnb_due
        fadd    d25, d2, d19            // first + activeNs
        fcmp    d25, d21
        b.ge    .Lnb_nexthand
        fmov    d21, d25
        b       .Lnb_nexthand
.Lnb_due:
        str     w13, [x26, x6, lsl #2]
        mov     w15, #1
        strb    w15, [x27, x6]
        str     w11, [x28, x6, lsl #2]
        add     x6, x6, #1
        b       .Lnb_nexthand

.Lnb_slowout:
        str     w13, [x26, x6, lsl #2]
        strb    wzr, [x27, x6]
        add     x6, x6, #1
.Lnb_nexthand:
        add     x12, x12, #1
        b       .Lnb_hand

.Lnb_full:
        // The SLOW hand-backs from h on (h's included; none of them compacted yet): the room the caller makes.
        mov     x15, #0
        mov     x16, x12
.Lnb_count:
        ldrb    w17, [x27, x16]
        cbnz    w17, .Lnb_c0
        add     x15, x15, #1
.Lnb_c0:
        add     x16, x16, #1
        cmp     x16, x2
        b.lo    .Lnb_count
        str     x15, [sp, #L_SLOWLEFT]
        mov     x15, #1
        b       .Lnb_out
.Lnb_badindex:
        mov     x15, #3
        b       .Lnb_out
.Lnb_done:
        mov     x15, #0
.Lnb_out:
        str     d21, [x0, #72]
        str     d22, [x0, #80]
        ldr     x1, [sp, #L_GREW]
        scvtf   d0, x1
        str     d0, [x0, #88]
        scvtf   d0, x7
        str     d0, [x0, #96]
        scvtf   d0, x8
        str     d0, [x0, #104]
        scvtf   d0, x12
        str     d0, [x0, #120]
        scvtf   d0, x6
        str     d0, [x0, #128]
        ldr     x1, [sp, #L_SLOWLEFT]
        scvtf   d0, x1
        str     d0, [x0, #136]
        mov     x0, x15
        callee_saved ldp
        add     sp, sp, #FRAME
        ret

// uint64_t ato_due_rows(ptrs x0, from x1, to x2, at x3, code x4, cap x5)
// x6 slots, x7 tk, x8 row, x10 chunk keys; x9 x, x11 i (the entry); the other columns read from ptrs per row.
        .global ato_due_rows
        .type   ato_due_rows, %function
ato_due_rows:
        ldp     x6, x7, [x0]
        ldr     x8, [x0, #16]
        ldr     x10, [x0, #24]
        mov     x9, x1
        mov     x11, x3
.Ldr_row:
        cmp     x9, x2
        b.hs    .Ldr_done
        ldrsw   x12, [x6, x9, lsl #2]   // s
        cmp     x12, x5
        b.hs    .Ldr_done               // also a negative one (unsigned)
        mov     x13, #48
        madd    x14, x12, x13, x7       // the slot's key
        madd    x15, x11, x13, x10      // the entry's key
        copy_key x15, x14, x16, x17
        ldr     x13, [x0, #32]
        str     w12, [x13, x11, lsl #2] // slot
        ldr     x13, [x0, #40]
        strb    w4, [x13, x11]          // reason code
        mov     x13, #ROW_BYTES
        madd    x14, x12, x13, x8       // the slot's row
        ldr     d0, [x14, #R_READ_PACKETS]
        ldr     d1, [x14, #R_READ_BYTES]
        ldr     d2, [x14, #R_READ_FRAGS]
        ldr     d3, [x14, #R_PACKETS]
        fsub    d3, d0, d3
        ldr     x13, [x0, #48]
        str     d3, [x13, x11, lsl #3]  // dPackets
        ldr     d3, [x14, #R_BYTES]
        fsub    d3, d1, d3
        ldr     x13, [x0, #56]
        str     d3, [x13, x11, lsl #3]  // dBytes
        ldr     d3, [x14, #R_FRAGS]
        fsub    d3, d2, d3
        ldr     x13, [x0, #64]
        str     d3, [x13, x11, lsl #3]  // dFragments
        ldr     x13, [x0, #72]
        str     d0, [x13, x11, lsl #3]  // packets
        ldr     x13, [x0, #80]
        str     d1, [x13, x11, lsl #3]  // bytes
        ldr     x13, [x0, #88]
        str     d2, [x13, x11, lsl #3]  // fragments
        ldr     d3, [x14, #R_FIRST_SEEN]
        ldr     x13, [x0, #96]
        str     d3, [x13, x11, lsl #3]
        ldr     d3, [x14, #R_LAST_SEEN]
        ldr     x13, [x0, #104]
        str     d3, [x13, x11, lsl #3]
        // Flags and counts as uint32 (a Uint32Array store: modulo 2^32 of a whole number in [0, 2^63)).
        ldr     d3, [x14, #R_TCP_FLAGS]
        fcvtzs  x16, d3
        ldr     x13, [x0, #112]
        str     w16, [x13, x11, lsl #2]
        ldr     d3, [x14, #R_TIMING]
        fcvtzs  x16, d3
        ldr     x13, [x0, #120]
        str     w16, [x13, x11, lsl #2]
        ldr     d3, [x14, #R_SPIKES]
        fcvtzs  x16, d3
        ldr     x13, [x0, #128]
        str     w16, [x13, x11, lsl #2]
        add     x9, x9, #1
        add     x11, x11, #1
        b       .Ldr_row
.Ldr_done:
        sub     x0, x9, x1              // copied
        ret

// uint64_t ato_recorded_rows(ptrs x0, from x1, to x2, cap x3, live x4, now d0)
        .global ato_recorded_rows
        .type   ato_recorded_rows, %function
ato_recorded_rows:
        ldp     x9, x10, [x0]           // reasonCode, slot
        ldp     x11, x12, [x0, #16]     // packets, bytes
        ldp     x13, x14, [x0, #32]     // fragments, row
        mov     x15, x1                 // i
.Lrr_loop:
        cmp     x15, x2
        b.hs    .Lrr_done
        ldrb    w16, [x9, x15]
        cmp     w16, #63
        b.hi    .Lrr_next               // no bit for it: not live
        lsr     x17, x4, x16
        tbz     x17, #0, .Lrr_next      // idle, recreated, evicted: gone from the table
        ldrsw   x16, [x10, x15, lsl #2]
        tbnz    x16, #63, .Lrr_next
        cmp     x16, x3
        b.hs    .Lrr_done               // outside the table: stop, the binding says which
        mov     x17, #ROW_BYTES
        madd    x16, x16, x17, x14
        ldr     d1, [x11, x15, lsl #3]
        str     d1, [x16, #R_PACKETS]
        ldr     d1, [x12, x15, lsl #3]
        str     d1, [x16, #R_BYTES]
        ldr     d1, [x13, x15, lsl #3]
        str     d1, [x16, #R_FRAGS]
        str     d0, [x16, #R_EXPORTED_AT]
.Lrr_next:
        add     x15, x15, #1
        b       .Lrr_loop
.Lrr_done:
        mov     x0, x15
        ret

        .section .note.GNU-stack,"",%progbits
