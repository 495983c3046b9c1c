; flow_new.asm: the collector's take-in of flows its table does not hold yet, and the copy of DUE
; rows into a chunk (ato L2, src/collector/scan.ts's BatchScan.takeNewTs and src/collector/chunk.ts's
; DueChunk.addSlots, the TypeScript loops these routines must equal bit for bit). Linked into
; libatoscan.so beside asm/flow_scan.asm; one binding, ffi/scan.ts.
;
; Why native: a stop's final collection is often the first read that sees thousands of flows, and
; runs through JavaScript the JIT never compiled: the hash insert and the row copies cost 1-3 us a
; flow there, ~0.1 us here.
;
;   uint64_t ato_new_batch(const uint64_t *ptrs, double *sc, uint64_t n)
;
; Goes through the hand-backs h = sc[15] .. n-1 of the scan (index, kind, slot), compacting them in
; place from out = sc[16]: a DUE one is kept as it is; a SLOW one is summed over CPUs and
;   - idle (lastAll < idleBefore): kept SLOW;
;   - held by the table at another slot: kept SLOW, order[i] = that slot;
;   - else inserted (FlowTable.insertAbsent: FNV-1a + murmur3 finaliser, linear probe, a deleted
;     slot reused), its row written whole (nothing recorded, read counts, exportedAt = first_seen,
;     generation), order[i] = slot, its growth added per protocol, its bounds taken; kept DUE at its
;     slot when a record is due (final, active 0, or its active timeout came), else dropped.
; Before an insert it checks that the table has room (live + tombstones + 1 <= maxLoad): when not,
; it stops before that flow (nothing of it done) and returns 1 with sc[15..17] saying where; the
; caller grows the table (a rebuild: TypeScript) and calls again. Returns 0 when it went through all,
; 4 when a probe visited every slot and found none free (the table's counts were too low).
;
; ptrs (10): [0] kw batch keys (12 uint32 per flow) [1] vw per-CPU values [2] order (int32; flow i at
;   [orderAt + i]) [3] tk table keys [4] st table states (0 empty, 1 used, 2 deleted) [5] row (13
;   doubles per slot) [6] byProto (512 doubles) [7] index (int32) [8] kind (uint8) [9] slot (int32)
; sc (doubles): [0] idleBefore [1] idleNs [2] nowNs [3] activeNs [4] final [5] cpus [6] flowWords
;   [7] capacity (a power of two) [8] generation [9] nextDueNs* [10] growDueNs* [11] grew* [12] live*
;   [13] tombstones* [14] maxLoad (capacity * MAX_LOAD) [15] h* [16] out* [17] (written when it returns 1:
;   the SLOW hand-backs from h on, h's included) [18] orderAt [19] flows (the batch's: every index must be below it; one that is
;   not stops the routine, which returns 3)          (* read and written back)
;
;   uint64_t ato_due_rows(const uint64_t *ptrs, uint64_t from, uint64_t to, uint64_t at, uint64_t code, uint64_t cap)
;
; For x in from..to-1, chunk entry i = at + (x - from) takes table slot s = slots[x]: its key, s,
; the reason code, growth (read - recorded), the read counts, times and flags. Returns how many it
; copied: to - from, or fewer when it stopped at a slot not in [0, cap).
; ptrs (17): [0] slots (int32) [1] tk [2] row [3] chunk keys (12 uint32 per entry) [4] chunk slot
;   (int32) [5] reasonCode (uint8) [6] dPackets [7] dBytes [8] dFragments [9] packets [10] bytes
;   [11] fragments [12] firstSeen [13] lastSeen (doubles) [14] tcpFlags [15] timingFlags [16] spikes (uint32)
;
; No pointer needs alignment; the binding checks every array's length. They call nothing.
;   ato_new_abi_version  2; bumped whenever an interface above changes
;
; uint64_t ato_recorded_rows(const uint64_t *ptrs, uint64_t from, uint64_t to, uint64_t cap, uint64_t live, double now)
;   src/collector/baseline.ts's recordedRange for a chunk filled in the table's epoch (every
;   entry's slot still holds its flow): for each entry i in from..to-1 whose reason code c has
;   bit c of `live` set (c < 64), table row slot[i] gets the entry's packets, bytes and fragments
;   as recorded and its exported-at time `now`; a negative slot is skipped (as there).
;   ptrs: [0] reasonCode (bytes) [1] slot (int32) [2] packets [3] bytes [4] fragments [5] row (doubles)
;   Returns `to`, or the first entry whose slot is not below cap (the rows before it written).

default rel
bits 64

%include "asm/flow_macros.inc" ; VAL_STRIDE, V_*, ROW_BYTES, R_* and the macros below

NEW_ABI_VERSION equ 2

; locals of ato_new_batch, from rsp
L_KW      equ 0
L_VW      equ 8
L_ORDER   equ 16
L_TK      equ 24
L_ST      equ 32
L_ROW     equ 40
L_BYPROTO equ 48
L_INDEX   equ 56
L_KIND    equ 64
L_SLOT    equ 72
L_SC      equ 80
L_CPUS    equ 88
L_FBYTES  equ 96
L_MASK    equ 104
L_OUT     equ 112
L_SLOWLEFT equ 120
L_LIVE    equ 128
L_TOMB    equ 136
L_FINAL   equ 144
L_GREW    equ 152
L_SPIKES  equ 160
L_FLOWS   equ 168
L_PROBES  equ 176       ; slots the probe may still visit (the table's capacity): a table whose counts
                          ; are too low (no empty slot) ends the probe instead of looping
FRAME     equ 184

global ato_new_abi_version:function
global ato_new_batch:function
global ato_due_rows:function
global ato_recorded_rows:function

section .text

ato_new_abi_version:
        mov     eax, NEW_ABI_VERSION
        ret

ato_new_batch:
        ENTER_FRAME FRAME

        mov     [rsp + L_SC], rsi
        mov     rbx, rdx                ; n
        PTRS_TO_FRAME 0, L_KW, 8, L_VW
        cvttsd2si rcx, [rsi + 144]      ; orderAt
        mov     rax, [rdi + 16]
        lea     rax, [rax + rcx*4]
        mov     [rsp + L_ORDER], rax
        PTRS_TO_FRAME 24, L_TK, 32, L_ST, 40, L_ROW, 48, L_BYPROTO, 56, L_INDEX, 64, L_KIND, 72, L_SLOT

        LOAD_TIMEOUTS
        SC_INTS_TO_FRAME 32, L_FINAL, 40, L_CPUS
        cvttsd2si rax, [rsi + 48]
        shl     rax, 2
        mov     [rsp + L_FBYTES], rax
        cvttsd2si rax, [rsi + 56]
        dec     rax
        mov     [rsp + L_MASK], rax
        movsd   xmm12, [rsi + 64]       ; generation
        movsd   xmm13, [rsi + 72]       ; nextDueNs
        movsd   xmm14, [rsi + 80]       ; growDueNs
        SC_INTS_TO_FRAME 88, L_GREW, 96, L_LIVE, 104, L_TOMB
        movsd   xmm15, [rsi + 112]      ; maxLoad
        cvttsd2si r15, [rsi + 120]      ; h
        SC_INTS_TO_FRAME 128, L_OUT, 152, L_FLOWS
        mov     qword [rsp + L_SLOWLEFT], 0

.hand:
        cmp     r15, rbx
        jae     .done
        mov     rax, [rsp + L_INDEX]
        movsxd  r13, dword [rax + r15*4] ; i
        cmp     r13, [rsp + L_FLOWS]
        jae     .badindex               ; also a negative one (unsigned): not a flow of the batch
        mov     rax, [rsp + L_KIND]
        cmp     byte [rax + r15], 0
        je      .slowflow
        ; DUE (from the scan): kept as it is
        mov     rcx, [rsp + L_OUT]
        mov     [rax + rcx], byte 1
        mov     rax, [rsp + L_INDEX]
        mov     [rax + rcx*4], r13d
        mov     rax, [rsp + L_SLOT]
        mov     edx, [rax + r15*4]
        mov     [rax + rcx*4], edx
        inc     qword [rsp + L_OUT]
        jmp     .nexthand

.slowflow:
        ; Sums over CPUs, as FlowBatch.countsInto (and lastAll: the latest last_seen of every CPU).
        mov     rdx, r13
        imul    rdx, [rsp + L_FBYTES]
        add     rdx, [rsp + L_VW]
        mov     rcx, [rsp + L_CPUS]
        SUM_CPUS r8, r9, r10, r11, r12  ; lastAll, tcpFlags, fragments, timing, spikes
        INT_DOUBLE xmm4, r8             ; lastAll
        ucomisd xmm4, xmm8              ; idle: lastAll < idleBefore
        jb      .slowout
        ; Room for one more key within the load, or stop here for the caller to grow the table.
        mov     rax, [rsp + L_LIVE]
        add     rax, [rsp + L_TOMB]
        inc     rax
        INT_DOUBLE xmm5, rax
        ucomisd xmm5, xmm15
        ja      .full
        jp      .full
        SUMS_TO_DOUBLES
        INT_DOUBLE xmm5, r10            ; fragments
        INT_DOUBLE xmm6, r9             ; tcpFlags
        INT_DOUBLE xmm7, r11            ; timing
        mov     [rsp + L_SPIKES], r12

        ; The key's hash (table.ts's hashKey).
        mov     rdx, r13
        imul    rdx, 48
        add     rdx, [rsp + L_KW]       ; the flow's key
        mov     eax, 0x811c9dc5
%assign w 0
%rep 12
        xor     eax, [rdx + w]
        imul    eax, eax, 0x01000193
%assign w w + 4
%endrep
        mov     ecx, eax
        shr     ecx, 16
        xor     eax, ecx
        imul    eax, eax, 0x85ebca6b
        mov     ecx, eax
        shr     ecx, 13
        xor     eax, ecx
        imul    eax, eax, 0xc2b2ae35
        mov     ecx, eax
        shr     ecx, 16
        xor     eax, ecx                ; eax (zero-extended in rax): the hash
        mov     r8, [rsp + L_MASK]
        and     rax, r8
        mov     r10, [rsp + L_ST]
        mov     r11, [rsp + L_TK]
        mov     r9, -1                  ; the first deleted slot passed (reuse)
        mov     [rsp + L_PROBES], r8    ; capacity - 1 more slots after this one
.probe:
        movzx   ecx, byte [r10 + rax]
        test    ecx, ecx
        jz      .empty
        cmp     ecx, 2
        je      .deleted
        imul    r12, rax, 48
        add     r12, r11
%assign w 0
%rep 6                                  ; the slot's key (r12) against the flow's (rdx), 8 bytes at a time
        mov     rcx, [r12 + w]
        cmp     rcx, [rdx + w]
        jne     .nextslot
%assign w w + 8
%endrep
        ; Held at another slot (the map's order moved): that slot is its hint, the general path does the rest.
        mov     rcx, [rsp + L_ORDER]
        mov     [rcx + r13*4], eax
        jmp     .slowout
.deleted:
        test    r9, r9
        jns     .nextslot
        mov     r9, rax
.nextslot:
        dec     qword [rsp + L_PROBES]
        js      .wrapped
        inc     rax
        and     rax, r8
        jmp     .probe
.wrapped:
        ; Every slot visited and none empty: the counts said there was room. Reuse the first deleted
        ; slot if one was passed, else stop (returns 4: the binding names it).
        test    r9, r9
        jns     .reuse
        mov     eax, 4
        jmp     .out
.empty:
        test    r9, r9
        jns     .reuse
        mov     r9, rax
        jmp     .insert
.reuse:
        dec     qword [rsp + L_TOMB]
.insert:
        mov     byte [r10 + r9], 1
        imul    r12, r9, 48
        add     r12, r11
        COPY_KEY r12, rdx, rcx
        inc     qword [rsp + L_LIVE]

        ; The row, whole: nothing recorded of it yet; exportedAt = first_seen (its active timeout runs from there).
        imul    rcx, r9, ROW_BYTES
        add     rcx, [rsp + L_ROW]
        xor     eax, eax
        mov     [rcx + R_PACKETS], rax
        mov     [rcx + R_BYTES], rax
        mov     [rcx + R_FRAGS], rax
        movsd   [rcx + R_READ_PACKETS], xmm0
        movsd   [rcx + R_READ_BYTES], xmm1
        movsd   [rcx + R_READ_FRAGS], xmm5
        movsd   [rcx + R_FIRST_SEEN], xmm2
        movsd   [rcx + R_LAST_SEEN], xmm3
        movsd   [rcx + R_EXPORTED_AT], xmm2
        movsd   [rcx + R_TCP_FLAGS], xmm6
        movsd   [rcx + R_TIMING], xmm7
        STORE_DOUBLE xmm5, qword [rsp + L_SPIKES], [rcx + R_SPIKES]
        movsd   [rcx + R_GEN], xmm12
        mov     rcx, [rsp + L_ORDER]
        mov     [rcx + r13*4], r9d

        ; Growth per protocol (key word 11: family | proto << 8).
        mov     rax, rsi
        or      rax, rdi
        jz      .bounds
        ADD_BY_PROTO xmm0, xmm1
        mov     qword [rsp + L_GREW], 1

.bounds:
        ; The bounds and the due check of Collector.cycle's general path, for a flow with nothing recorded.
        IDLE_BOUND
        xorpd   xmm6, xmm6
        test    rsi, rsi
        jnz     .pending
        ucomisd xmm11, xmm6             ; no packets: growth after this read is due at first + active (active not 0)
        jne     .b2
        jnp     .nexthand
.b2:
        movapd  xmm5, xmm2
        addsd   xmm5, xmm11
        ucomisd xmm5, xmm14
        jae     .nexthand
        movapd  xmm14, xmm5
        jmp     .nexthand
.pending:
        cmp     qword [rsp + L_FINAL], 0
        jne     .due
        ucomisd xmm11, xmm6
        jne     .b3
        jnp     .due                    ; activeNs 0: every interval
.b3:
        movapd  xmm5, xmm10
        subsd   xmm5, xmm2              ; nowNs - first
        ucomisd xmm5, xmm11
        jae     .due
        movapd  xmm5, xmm2
        addsd   xmm5, xmm11             ; first + activeNs
        ucomisd xmm5, xmm13
        jae     .nexthand
        movapd  xmm13, xmm5
        jmp     .nexthand
.due:
        HAND_BACK L_OUT, rcx, rax, L_INDEX, r13d, L_KIND, 1, L_SLOT, r9d
        jmp     .nexthand

.slowout:
        HAND_BACK L_OUT, rcx, rax, L_INDEX, r13d, L_KIND, 0
.nexthand:
        inc     r15
        jmp     .hand

.full:
        ; The SLOW hand-backs from h on (h's included; none of them compacted yet): the room the caller makes.
        xor     ecx, ecx
        mov     rax, r15
        mov     rdx, [rsp + L_KIND]
.count:
        cmp     byte [rdx + rax], 0
        jne     .c0
        inc     rcx
.c0:
        inc     rax
        cmp     rax, rbx
        jb      .count
        mov     [rsp + L_SLOWLEFT], rcx
        mov     eax, 1
        jmp     .out
.badindex:
        mov     eax, 3
        jmp     .out
.done:
        xor     eax, eax
.out:
        mov     rsi, [rsp + L_SC]
        movsd   [rsi + 72], xmm13
        movsd   [rsi + 80], xmm14
        STORE_DOUBLE xmm0, qword [rsp + L_GREW], [rsi + 88]
        STORE_DOUBLE xmm0, qword [rsp + L_LIVE], [rsi + 96]
        STORE_DOUBLE xmm0, qword [rsp + L_TOMB], [rsi + 104]
        STORE_DOUBLE xmm0, r15, [rsi + 120]
        STORE_DOUBLE xmm0, qword [rsp + L_OUT], [rsi + 128]
        STORE_DOUBLE xmm0, qword [rsp + L_SLOWLEFT], [rsi + 136]
        LEAVE_FRAME FRAME

; uint64_t ato_due_rows(ptrs rdi, from rsi, to rdx, at rcx, code r8, cap r9)
ato_due_rows:
        SAVE_CALLEE
        push    r9                      ; cap: [rsp + 8] below
        push    rsi                     ; from: [rsp]
        mov     r9, rsi                 ; x
        mov     r10, rdx                ; to
        mov     r11, rcx                ; i
        mov     rbx, [rdi]              ; slots
        mov     rbp, [rdi + 8]          ; tk
        mov     r12, [rdi + 16]         ; row
        mov     r13, [rdi + 24]         ; chunk keys
.row:
        cmp     r9, r10
        jae     .rowsdone
        movsxd  rsi, dword [rbx + r9*4] ; s
        cmp     rsi, [rsp + 8]
        jae     .rowsdone               ; also a negative one (unsigned)
        imul    r14, rsi, 48
        add     r14, rbp                ; the slot's key
        imul    r15, r11, 48
        add     r15, r13                ; the entry's key
        COPY_KEY r15, r14, rax
        mov     rax, [rdi + 32]
        mov     [rax + r11*4], esi      ; slot
        mov     rax, [rdi + 40]
        mov     [rax + r11], r8b        ; reason code
        imul    r14, rsi, ROW_BYTES
        add     r14, r12                ; the slot's row
        movsd   xmm0, [r14 + R_READ_PACKETS]
        movsd   xmm1, [r14 + R_READ_BYTES]
        movsd   xmm2, [r14 + R_READ_FRAGS]
        movapd  xmm3, xmm0
        subsd   xmm3, [r14 + R_PACKETS]
        COL_F64 xmm3, rdi, 48, r11, rax ; dPackets
        movapd  xmm3, xmm1
        subsd   xmm3, [r14 + R_BYTES]
        COL_F64 xmm3, rdi, 56, r11, rax ; dBytes
        movapd  xmm3, xmm2
        subsd   xmm3, [r14 + R_FRAGS]
        COL_F64 xmm3, rdi, 64, r11, rax ; dFragments
        COL_F64 xmm0, rdi, 72, r11, rax ; packets
        COL_F64 xmm1, rdi, 80, r11, rax ; bytes
        COL_F64 xmm2, rdi, 88, r11, rax ; fragments
        ROW_F64 [r14 + R_FIRST_SEEN], rdi, 96, r11, rax, xmm3
        ROW_F64 [r14 + R_LAST_SEEN], rdi, 104, r11, rax, xmm3
        ROW_U32 [r14 + R_TCP_FLAGS], rdi, 112, r11, rax
        ROW_U32 [r14 + R_TIMING], rdi, 120, r11, rax
        ROW_U32 [r14 + R_SPIKES], rdi, 128, r11, rax
        inc     r9
        inc     r11
        jmp     .row
.rowsdone:
        pop     rsi                     ; from
        pop     rax                     ; cap
        mov     rax, r9
        sub     rax, rsi                ; copied
        RESTORE_CALLEE_RET

; uint64_t ato_recorded_rows(ptrs rdi, from rsi, to rdx, cap rcx, live r8, now xmm0)
ato_recorded_rows:
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        mov     r9, [rdi]               ; reasonCode
        mov     r10, [rdi + 8]          ; slot
        mov     r11, [rdi + 16]         ; packets
        mov     rbx, [rdi + 24]         ; bytes
        mov     r12, [rdi + 32]         ; fragments
        mov     r13, [rdi + 40]         ; row
        mov     rax, rsi                ; i
.loop:
        cmp     rax, rdx
        jae     .done
        movzx   r14d, byte [r9 + rax]
        cmp     r14d, 63
        ja      .next                   ; no bit for it: not live
        bt      r8, r14
        jnc     .next                   ; idle, recreated, evicted: gone from the table
        movsxd  r15, dword [r10 + rax * 4]
        test    r15, r15
        js      .next
        cmp     r15, rcx
        jae     .done                   ; outside the table: stop, the binding says which
        imul    r15, r15, ROW_BYTES
        add     r15, r13
        movsd   xmm1, [r11 + rax * 8]
        movsd   [r15 + R_PACKETS], xmm1
        movsd   xmm1, [rbx + rax * 8]
        movsd   [r15 + R_BYTES], xmm1
        movsd   xmm1, [r12 + rax * 8]
        movsd   [r15 + R_FRAGS], xmm1
        movsd   [r15 + R_EXPORTED_AT], xmm0
.next:
        inc     rax
        jmp     .loop
.done:
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        ret

section .note.GNU-stack noalloc noexec nowrite progbits
