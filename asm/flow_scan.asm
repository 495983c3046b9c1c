; flow_scan.asm: the collector's fast path over one batch of the per-CPU flow map (ato L2,
; src/collector/scan.ts, whose TypeScript loop is the oracle this routine must equal bit for bit).
;
;   uint64_t ato_scan_batch(const uint64_t *ptrs, double *sc, uint64_t n)
;
; ptrs (11 pointers):
;   [0] kw      the batch's keys, 12 uint32 per flow (struct flow_key, 48 bytes)
;   [1] vw      the batch's per-CPU values, flowBytes per flow, one VAL_STRIDE-byte struct flow_value per CPU
;   [2] order   int32 per flow: the table slot to try first (the slot at the same position of the last read)
;   [3] tk      the table's keys, 12 uint32 per slot
;   [4] st      the table's slot states, 1 byte per slot (1 = used)
;   [5] row     the table's rows, ROW doubles per slot (R_* below)
;   [6] byProto 512 doubles: growth packets at [2p], bytes at [2p+1] per IP protocol p
;   [7] outIdx  int32 per hand-back: the flow's index in the batch
;   [8] outKind uint8 per hand-back: 0 SLOW (nothing done here), 1 DUE (taken in, record due)
;   [9] outSlot int32 per hand-back: the slot of a DUE flow
;   [10] cols   0, or the DueChunk's columns (src/collector/chunk.ts), 14 pointers: [0] keyWords (12 uint32
;               per record) [1] slot int32 [2] reasonCode uint8 [3] dPackets [4] dBytes [5] dFragments
;               [6] packets [7] bytes [8] fragments [9] firstSeen [10] lastSeen (doubles) [11] tcpFlags
;               [12] timingFlags [13] spikes (uint32)
; sc (doubles): [0] idleBefore [1] idleNs [2] nowNs [3] activeNs [4] final (0/1) [5] hooked (0/1)
;   [6] cpus [7] flowWords (uint32 words of one flow's values) [8] table capacity [9] generation
;   [10] packetsRead, [11] nextDueNs, [12] grew (0/1), [13] growDueNs: read and updated (sums over the cycle)
;   [14] from: the first flow scanned; set to the flow after the last one scanned
;   with cols only: [15] the chunk's record count (read and updated) [16] its limit (above [15]) [17] the reason code
; Returns the number of hand-backs written.
;
; Without cols, flows from..n-1 are scanned and DUE flows handed back. With cols, a DUE flow met
; while nothing was handed back in this call is written into the chunk's columns at record [15]
; (what DueChunk.addSlot writes for its slot: the table's key, the slot, the code, growth since the
; last record and the row as read; tcpFlags, timingFlags and spikes as their doubles' low 32 bits,
; which is ToUint32 for every value below 2^63), and the scan stops after the record that fills the
; chunk to [16]; a DUE flow met after a hand-back is handed back DUE, and the scan stops after it:
; so the records go into the chunk in batch order, the hand-backs' between the chunk's.
;
; Per flow: its counters are summed over CPUs as integers (exact; converted to double once, which
; equals the TypeScript sums of doubles while each sum is below 2^53 and each value below 2^63);
; the flow is handed back SLOW (and nothing but packetsRead touched) when it is not at its hinted
; slot, idle, an entry made anew, or changed while `hooked`; otherwise its row takes the read
; counts and the generation, its timeouts lower nextDueNs (lastSeen + idle; with growth waiting,
; exportedAt + active) or, with no growth waiting, growDueNs (exportedAt + active, when active is not
; 0), and it is handed back DUE when a record is due. No pointer needs alignment; with n = 0
; nothing is read. It calls nothing.
;
;   ato_scan_abi_version  4; bumped whenever the layout above or the value layout below changes
;   (2: the library also holds ato_flow_lines, asm/flow_lines.asm, included at the end; 3: sc[13];
;   4: from, and the chunk's columns)

default rel
bits 64

%include "asm/flow_macros.inc" ; VAL_STRIDE, V_*, ROW_BYTES, R_* and the macros below

ABI_VERSION equ 4

; locals, from rsp
L_BYPROTO equ 0
L_OUTIDX  equ 8
L_OUTKIND equ 16
L_OUTSLOT equ 24
L_SC      equ 32
L_CPUS    equ 40
L_FBYTES  equ 48
L_CAP     equ 56
L_COUNT   equ 72
L_LASTALL equ 80
L_FLAGS   equ 88
L_FRAGS   equ 96
L_TIMING  equ 104
L_SPIKES  equ 112
L_FINAL   equ 120
L_HOOKED  equ 128
L_GROWDUE equ 136
L_COLS    equ 144
L_CN      equ 152
L_LIMIT   equ 160
L_CODE    equ 168
FRAME     equ 184

; A record's count from its row (rcx) into chunk entry rax (columns at rsi): the count as read, %1, into
; column %3, and its growth since the last record (read - recorded, %2) into column %4.
%macro RECORD_COUNT 4
        ROW_F64 [rcx + %1], rsi, %3, rax, rdi, xmm5
        subsd   xmm5, [rcx + %2]
        COL_F64 xmm5, rsi, %4, rax, rdi
%endmacro

global ato_scan_abi_version:function
global ato_scan_batch:function

section .text

ato_scan_abi_version:
        mov     eax, ABI_VERSION
        ret

ato_scan_batch:
        ENTER_FRAME FRAME

        mov     r8,  [rdi]              ; kw
        mov     r9,  [rdi + 8]          ; vw
        mov     r10, [rdi + 16]         ; order
        mov     r11, [rdi + 24]         ; tk
        mov     r12, [rdi + 32]         ; st
        mov     r13, [rdi + 40]         ; row
        PTRS_TO_FRAME 48, L_BYPROTO, 56, L_OUTIDX, 64, L_OUTKIND, 72, L_OUTSLOT, 80, L_COLS
        mov     [rsp + L_SC], rsi
        mov     rbx, rdx                ; n

        LOAD_TIMEOUTS
        SC_INTS_TO_FRAME 32, L_FINAL, 40, L_HOOKED, 48, L_CPUS
        cvttsd2si rax, [rsi + 56]
        shl     rax, 2
        mov     [rsp + L_FBYTES], rax
        SC_INTS_TO_FRAME 64, L_CAP
        movsd   xmm15, [rsi + 72]       ; generation
        movsd   xmm12, [rsi + 80]       ; packetsRead
        movsd   xmm13, [rsi + 88]       ; nextDueNs
        movsd   xmm14, [rsi + 96]       ; grew
        movsd   xmm0, [rsi + 104]       ; growDueNs
        movsd   [rsp + L_GROWDUE], xmm0
        mov     qword [rsp + L_COUNT], 0
        cvttsd2si r15, [rsi + 112]      ; i = from
        cmp     qword [rsp + L_COLS], 0
        je      .flow
        SC_INTS_TO_FRAME 120, L_CN, 128, L_LIMIT, 136, L_CODE

.flow:
        cmp     r15, rbx
        jae     .done
        mov     rdx, r15
        imul    rdx, [rsp + L_FBYTES]
        add     rdx, r9                 ; this flow's values
        mov     rcx, [rsp + L_CPUS]
        SUM_CPUS [rsp + L_LASTALL], [rsp + L_FLAGS], [rsp + L_FRAGS], [rsp + L_TIMING], [rsp + L_SPIKES]
        SUMS_TO_DOUBLES
        INT_DOUBLE xmm4, qword [rsp + L_LASTALL]
        addsd   xmm12, xmm0             ; packetsRead += packets (every entry, handed back or not)

        movsxd  rax, dword [r10 + r15*4] ; the hinted slot
        test    rax, rax
        js      .slow
        cmp     rax, [rsp + L_CAP]
        jae     .slow
        cmp     byte [r12 + rax], 1
        jne     .slow
        ucomisd xmm4, xmm8              ; idle: lastAll < idleBefore
        jb      .slow
        imul    rcx, rax, 48
        add     rcx, r11                ; the slot's key
        imul    rdx, r15, 48
        add     rdx, r8                 ; the flow's key
        movdqu  xmm5, [rcx]
        movdqu  xmm6, [rdx]
        pcmpeqd xmm5, xmm6
        movdqu  xmm6, [rcx + 16]
        movdqu  xmm7, [rdx + 16]
        pcmpeqd xmm6, xmm7
        pand    xmm5, xmm6
        movdqu  xmm6, [rcx + 32]
        movdqu  xmm7, [rdx + 32]
        pcmpeqd xmm6, xmm7
        pand    xmm5, xmm6
        pmovmskb ecx, xmm5
        cmp     ecx, 0xffff
        jne     .slow

        mov     r14, rax                ; slot
        imul    rcx, rax, ROW_BYTES
        add     rcx, r13                ; the slot's row
        movsd   xmm5, [rcx + R_READ_PACKETS]
        ucomisd xmm5, xmm0
        jne     .changed
        jp      .changed
        movsd   xmm6, [rcx + R_LAST_SEEN]
        ucomisd xmm6, xmm4
        jne     .changed
        jp      .changed
        jmp     .kept
.changed:
        cmp     qword [rsp + L_HOOKED], 0
        jne     .slow
        ucomisd xmm0, xmm5              ; fewer packets than read: an entry made anew
        jb      .slow
        movsd   xmm6, [rcx + R_FIRST_SEEN]
        ucomisd xmm2, xmm6              ; another first_seen: an entry made anew
        jne     .slow
        jp      .slow
        movapd  xmm6, xmm0
        subsd   xmm6, xmm5              ; packets grown
        movapd  xmm7, xmm1
        subsd   xmm7, [rcx + R_READ_BYTES] ; bytes grown
        xorpd   xmm5, xmm5
        ucomisd xmm6, xmm5
        jne     .grow
        jp      .grow
        ucomisd xmm7, xmm5
        jne     .grow
        jp      .grow
        jmp     .store
.grow:
        ADD_BY_PROTO xmm6, xmm7
        mov     rax, 0x3ff0000000000000 ; 1.0
        movq    xmm14, rax
.store:
        movsd   [rcx + R_READ_PACKETS], xmm0
        movsd   [rcx + R_READ_BYTES], xmm1
        STORE_DOUBLE xmm5, qword [rsp + L_FRAGS], [rcx + R_READ_FRAGS]
        movsd   [rcx + R_FIRST_SEEN], xmm2
        movsd   [rcx + R_LAST_SEEN], xmm3
        STORE_DOUBLE xmm5, qword [rsp + L_FLAGS], [rcx + R_TCP_FLAGS]
        STORE_DOUBLE xmm5, qword [rsp + L_TIMING], [rcx + R_TIMING]
        STORE_DOUBLE xmm5, qword [rsp + L_SPIKES], [rcx + R_SPIKES]
.kept:
        movsd   [rcx + R_GEN], xmm15
        IDLE_BOUND
        movsd   xmm5, [rcx + R_READ_PACKETS]
        subsd   xmm5, [rcx + R_PACKETS] ; pending
        xorpd   xmm6, xmm6
        ucomisd xmm5, xmm6
        jbe     .quiet                  ; nothing unrecorded
        movsd   xmm6, [rcx + R_EXPORTED_AT]
        cmp     qword [rsp + L_FINAL], 0
        jne     .due
        xorpd   xmm7, xmm7
        ucomisd xmm11, xmm7
        jne     .k2
        jnp     .due                    ; activeNs 0: every interval
.k2:
        movapd  xmm7, xmm10
        subsd   xmm7, xmm6              ; nowNs - exportedAt
        ucomisd xmm7, xmm11
        jae     .due
        addsd   xmm6, xmm11             ; exportedAt + activeNs
        ucomisd xmm6, xmm13
        jae     .next
        movapd  xmm13, xmm6
        jmp     .next
.quiet:                                 ; xmm6 = 0: growth after this read is due at exportedAt + activeNs
        ucomisd xmm11, xmm6
        jne     .q1
        jnp     .next                   ; activeNs 0: every interval, no active timeout
.q1:
        movsd   xmm6, [rcx + R_EXPORTED_AT]
        addsd   xmm6, xmm11
        ucomisd xmm6, [rsp + L_GROWDUE]
        jae     .next
        movsd   [rsp + L_GROWDUE], xmm6
        jmp     .next
.due:
        cmp     qword [rsp + L_COLS], 0
        je      .handdue
        cmp     qword [rsp + L_COUNT], 0
        je      .record
        HAND_BACK L_COUNT, rax, rcx, L_OUTIDX, r15d, L_OUTKIND, 1, L_OUTSLOT, r14d ; after a hand-back: handed back too, and the scan stops after it
        inc     r15
        jmp     .done
.record:                                ; DueChunk.addSlot(t, slot, reason), from the row while it is hot
        mov     rsi, [rsp + L_COLS]
        mov     rax, [rsp + L_CN]       ; the record's index in the chunk
        imul    rdx, r14, 48
        add     rdx, r11                ; the slot's key
        imul    rdi, rax, 48
        add     rdi, [rsi]
        movdqu  xmm5, [rdx]
        movdqu  [rdi], xmm5
        movdqu  xmm5, [rdx + 16]
        movdqu  [rdi + 16], xmm5
        movdqu  xmm5, [rdx + 32]
        movdqu  [rdi + 32], xmm5
        mov     rdi, [rsi + 8]
        mov     [rdi + rax*4], r14d     ; slot
        mov     rdi, [rsi + 16]
        mov     edx, [rsp + L_CODE]
        mov     [rdi + rax], dl         ; reasonCode
        RECORD_COUNT R_READ_PACKETS, R_PACKETS, 48, 24 ; packets, dPackets
        RECORD_COUNT R_READ_BYTES, R_BYTES, 56, 32     ; bytes, dBytes
        RECORD_COUNT R_READ_FRAGS, R_FRAGS, 64, 40     ; fragments, dFragments
        ROW_F64 [rcx + R_FIRST_SEEN], rsi, 72, rax, rdi, xmm5
        ROW_F64 [rcx + R_LAST_SEEN], rsi, 80, rax, rdi, xmm5
        ROW_U32 [rcx + R_TCP_FLAGS], rsi, 88, rax, rdi
        ROW_U32 [rcx + R_TIMING], rsi, 96, rax, rdi
        ROW_U32 [rcx + R_SPIKES], rsi, 104, rax, rdi
        inc     rax
        mov     [rsp + L_CN], rax
        cmp     rax, [rsp + L_LIMIT]
        jb      .next
        inc     r15                     ; the chunk is full: stop after this flow
        jmp     .done
.handdue:
        HAND_BACK L_COUNT, rax, rcx, L_OUTIDX, r15d, L_OUTKIND, 1, L_OUTSLOT, r14d
        jmp     .next
.slow:
        HAND_BACK L_COUNT, rax, rcx, L_OUTIDX, r15d, L_OUTKIND, 0
.next:
        inc     r15
        jmp     .flow

.done:
        mov     rsi, [rsp + L_SC]
        STORE_DOUBLE xmm0, r15, [rsi + 112] ; where the next call starts
        cmp     qword [rsp + L_COLS], 0
        je      .d1
        STORE_DOUBLE xmm0, qword [rsp + L_CN], [rsi + 120]
.d1:
        movsd   [rsi + 80], xmm12
        movsd   [rsi + 88], xmm13
        movsd   [rsi + 96], xmm14
        movsd   xmm0, [rsp + L_GROWDUE]
        movsd   [rsi + 104], xmm0
        mov     rax, [rsp + L_COUNT]
        LEAVE_FRAME FRAME

%include "asm/flow_lines.asm"

section .note.GNU-stack noalloc noexec nowrite progbits
