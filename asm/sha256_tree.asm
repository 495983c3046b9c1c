; sha256_tree.asm: RFC 9162 Merkle hashes with the SHA extensions (ato L4, "Verification").
;
; The verifier hashes every log line as a leaf and folds the leaves into a tree: about 7
; SHA-256 blocks per 280-byte line. One call per batch keeps the per-call cost off each line,
; and two messages are hashed at once (two lanes) because SHA256RNDS2 is latency-bound: a
; second independent chain fills the pipeline nearly for free.
;
;   void ato_sha256_leaves(const uint8_t *buf, const uint32_t *spans, uint64_t count, uint8_t *out)
;     spans  count pairs (start, length), each a line buf[start : start+length]; start >= 1
;     out    count x 32 bytes: out[i] = SHA-256(0x00 || line i)
;     The prefix byte is not written: the byte before each line (buf[start-1]) is read and its
;     value replaced by 0x00 in a register, so buf is never changed and never read outside
;     [start-1, start+length).
;
;   void ato_sha256_nodes(const uint8_t *in, uint64_t count, uint8_t *out)
;     in     count x 64 bytes, pairs (left, right)
;     out    count x 32 bytes: out[i] = SHA-256(0x01 || left_i || right_i); out may equal in
;            (each pair is copied before any output at or after it is written)
;
;   uint64_t ato_sha256_spans_within(const uint32_t *spans, uint64_t count, uint64_t size)
;     the index of the first span (start, length) with start = 0 or start + length > size (summed
;     in 64 bits: no wrap), or count when all lie within buf[1 : size]: what ato_sha256_leaves
;     needs of its spans, checked here in one call instead of a loop step per line in the caller
;     (the evidence log's shutdown export runs that loop uncompiled). Reads spans only.
;
;   uint32_t ato_sha256_path(void)         1 when this CPU has the SHA extensions (CPUID.7.0:EBX[29])
;                                          and SSSE3/SSE4.1; 0 when it does not: then neither routine
;                                          may be called (the caller hashes with its portable path)
;   uint32_t ato_sha256_abi_version(void)  2; bumped whenever a signature above changes
;
; The rounds are Intel's SHA-NI sequence (as in OpenSSL and Linux), written once per lane and
; interleaved. A lane whose messages ran out hashes a zero block that nobody reads.

default rel
bits 64

ABI_VERSION equ 2

global ato_sha256_abi_version:function
global ato_sha256_path:function
global ato_sha256_leaves:function
global ato_sha256_nodes:function
global ato_sha256_spans_within:function

section .rodata
align 64
K256:
        dd 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
        dd 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
        dd 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
        dd 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
        dd 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
        dd 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
        dd 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
        dd 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
; The initial state in the SHA-NI register order: ABEF = [F, E, B, A], CDGH = [H, G, D, C] (dword 0 first).
IV_ABEF: dd 0x9b05688c, 0x510e527f, 0xbb67ae85, 0x6a09e667
IV_CDGH: dd 0x5be0cd19, 0x1f83d9ab, 0xa54ff53a, 0x3c6ef372
; Big-endian message words, and the digest's big-endian bytes.
BSWAP32: db 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12
; The leaf's first block: byte 0 (the byte before the line) becomes the 0x00 prefix.
CLEAR0:  db 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255
ONES:    times 16 db 255
ZERO_BLOCK: times 64 db 0

section .bss
align 4
sha_path: resd 1                ; 0 = not probed, 1 = SHA-NI, 2 = none (benign race: same value)

; Per-lane bookkeeping, on the stack (rbp-relative, 64-byte aligned).
L_SRC   equ 0                   ; next full block in the caller's buffer
L_NFULL equ 8                   ; full blocks left there
L_PADP  equ 16                  ; next block of the lane's own tail buffer
L_NPAD  equ 24                  ; tail blocks left
L_OUT   equ 32                  ; where this message's digest goes
L_ON    equ 40                  ; 1 while the lane has a message
L_MASK  equ 48                  ; ANDed into the next block's first 16 bytes
L_SAVE0 equ 64                  ; state before the block (added after its rounds)
L_SAVE1 equ 80
L_PAD   equ 128                 ; up to two tail blocks: the last bytes, 0x80, zeros, bit length
LANE    equ 256
LANE_A  equ 0
LANE_B  equ LANE
FRAME   equ 2 * LANE

section .text

ato_sha256_abi_version:
        mov     eax, ABI_VERSION
        ret

ato_sha256_path:
        mov     eax, [sha_path]
        test    eax, eax
        jnz     .known
        push    rbx
        mov     r8d, 2
        xor     eax, eax
        cpuid
        cmp     eax, 7
        jb      .probed
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        and     ecx, (1 << 9) | (1 << 19)       ; SSSE3 (pshufb), SSE4.1 (pblendw)
        cmp     ecx, (1 << 9) | (1 << 19)
        jne     .probed
        mov     eax, 7
        xor     ecx, ecx
        cpuid
        test    ebx, 1 << 29                    ; SHA
        jz      .probed
        mov     r8d, 1
.probed:
        pop     rbx
        mov     eax, r8d
        mov     [sha_path], eax
.known:
        cmp     eax, 1
        sete    al
        movzx   eax, al
        ret

; ---- the rounds -------------------------------------------------------------------------
; ROUNDS4 i, mbase, S0, S1, T, src, lane: rounds 4i..4i+3 of one lane. The lane's message
; schedule lives in xmm(mbase)..xmm(mbase+3); xmm0 is SHA256RNDS2's implicit operand.
%macro ROUNDS4 7
%assign %%i %1
%assign %%m0 (%2 + (%%i % 4))
%assign %%mp (%2 + ((%%i + 3) % 4))
%assign %%mn (%2 + ((%%i + 1) % 4))
%if %%i < 4
        movdqu  xmm0, [%6 + 16 * %%i]
%if %%i == 0
        pand    xmm0, [rbp + %7 + L_MASK]
%endif
        pshufb  xmm0, xmm8
        movdqa  xmm%[%%m0], xmm0
%else
        movdqa  xmm0, xmm%[%%m0]
%endif
        paddd   xmm0, [K256 + 16 * %%i]
        sha256rnds2 %4, %3, xmm0
%if %%i >= 3 && %%i <= 14
        movdqa  %5, xmm%[%%m0]
        palignr %5, xmm%[%%mp], 4
        paddd   xmm%[%%mn], %5
        sha256msg2 xmm%[%%mn], xmm%[%%m0]
%endif
        pshufd  xmm0, xmm0, 0x0E
        sha256rnds2 %3, %4, xmm0
%if %%i >= 1 && %%i <= 12
        sha256msg1 xmm%[%%mp], xmm%[%%m0]
%endif
%endmacro

; One block for each lane: lane A (state xmm1/xmm2, schedule xmm3-6) from r8, lane B
; (xmm9/xmm10, xmm11-14) from r9.
%macro COMPRESS2 0
        movdqa  [rbp + LANE_A + L_SAVE0], xmm1
        movdqa  [rbp + LANE_A + L_SAVE1], xmm2
        movdqa  [rbp + LANE_B + L_SAVE0], xmm9
        movdqa  [rbp + LANE_B + L_SAVE1], xmm10
%assign %%r 0
%rep 16
        ROUNDS4 %%r, 3, xmm1, xmm2, xmm7, r8, LANE_A
        ROUNDS4 %%r, 11, xmm9, xmm10, xmm15, r9, LANE_B
%assign %%r %%r + 1
%endrep
        paddd   xmm1, [rbp + LANE_A + L_SAVE0]
        paddd   xmm2, [rbp + LANE_A + L_SAVE1]
        paddd   xmm9, [rbp + LANE_B + L_SAVE0]
        paddd   xmm10, [rbp + LANE_B + L_SAVE1]
%endmacro

; NEXT_BLOCK lane, reg: the lane's next block (its buffer's, then its tail's), or the zero block.
%macro NEXT_BLOCK 2
        lea     %2, [ZERO_BLOCK]
        cmp     qword [rbp + %1 + L_ON], 0
        je      %%done
        cmp     qword [rbp + %1 + L_NFULL], 0
        je      %%pad
        mov     %2, [rbp + %1 + L_SRC]
        add     qword [rbp + %1 + L_SRC], 64
        dec     qword [rbp + %1 + L_NFULL]
        jmp     %%done
%%pad:
        mov     %2, [rbp + %1 + L_PADP]
        add     qword [rbp + %1 + L_PADP], 64
        dec     qword [rbp + %1 + L_NPAD]
%%done:
%endmacro

; STORE_DIGEST S0, S1, T, ptr: the state as the digest's 32 bytes (S0, S1, T clobbered).
%macro STORE_DIGEST 4
        pshufd  %1, %1, 0x1B            ; FEBA
        pshufd  %2, %2, 0xB1            ; DCHG
        movdqa  %3, %1
        pblendw %1, %2, 0xF0            ; DCBA
        palignr %2, %3, 8               ; HGFE
        pshufb  %1, xmm8
        pshufb  %2, xmm8
        movdqu  [%4], %1
        movdqu  [%4 + 16], %2
%endmacro

; START_LANE lane, S0, S1: the state reset, the lane marked busy, its mask set (%4: CLEAR0 or ONES).
%macro START_LANE 4
        movdqa  %2, [IV_ABEF]
        movdqa  %3, [IV_CDGH]
        movdqa  xmm0, [%4]
        movdqa  [rbp + %1 + L_MASK], xmm0
        mov     qword [rbp + %1 + L_ON], 1
        lea     rax, [rbp + %1 + L_PAD]
        mov     [rbp + %1 + L_PADP], rax
%endmacro

; FINISH_LANE loader, lane, S0, S1, T: after a block, a finished message's digest is written
; and the lane takes the next message.
%macro FINISH_LANE 5
        cmp     qword [rbp + %2 + L_ON], 0
        je      %%skip
        movdqa  xmm0, [ONES]
        movdqa  [rbp + %2 + L_MASK], xmm0
        mov     rax, [rbp + %2 + L_NFULL]
        or      rax, [rbp + %2 + L_NPAD]
        jnz     %%skip
        mov     rax, [rbp + %2 + L_OUT]
        STORE_DIGEST %3, %4, %5, rax
        %1      %2, %3, %4
%%skip:
%endmacro

; LOAD_LEAF lane, S0, S1: line r14 of (rbx = buf, r15 = spans) into the lane.
; Message = buf[start-1 : start+length] with byte 0 masked to 0x00; its last L mod 64 bytes are
; copied to the lane's tail buffer with the padding. Uses rax, rcx, rdx, rsi, rdi, r10, r11.
%macro LOAD_LEAF 3
        cmp     r14, r12
        jb      %%take
        mov     qword [rbp + %1 + L_ON], 0
        jmp     %%end
%%take:
        START_LANE %1, %2, %3, CLEAR0
        mov     eax, [r15 + r14 * 8]            ; start
        mov     r11d, [r15 + r14 * 8 + 4]       ; length
        lea     r10, [rbx + rax - 1]            ; the message: the prefix byte, then the line
        inc     r11                             ; its length L
        mov     [rbp + %1 + L_SRC], r10
        mov     rax, r11
        shr     rax, 6
        mov     [rbp + %1 + L_NFULL], rax
        mov     rdx, r14
        shl     rdx, 5
        add     rdx, r13
        mov     [rbp + %1 + L_OUT], rdx
        inc     r14
        pxor    xmm0, xmm0
        movdqa  [rbp + %1 + L_PAD], xmm0
        movdqa  [rbp + %1 + L_PAD + 16], xmm0
        movdqa  [rbp + %1 + L_PAD + 32], xmm0
        movdqa  [rbp + %1 + L_PAD + 48], xmm0
        movdqa  [rbp + %1 + L_PAD + 64], xmm0
        movdqa  [rbp + %1 + L_PAD + 80], xmm0
        movdqa  [rbp + %1 + L_PAD + 96], xmm0
        movdqa  [rbp + %1 + L_PAD + 112], xmm0
        shl     rax, 6
        lea     rsi, [r10 + rax]                ; the bytes after the full blocks
        lea     rdi, [rbp + %1 + L_PAD]
        mov     rcx, r11
        and     rcx, 63
        mov     rdx, rcx
        rep movsb
        mov     byte [rbp + %1 + L_PAD + rdx], 0x80
        mov     eax, 1
        mov     ecx, 2
        cmp     rdx, 56
        cmovae  eax, ecx                        ; no room for the length: a second tail block
        mov     [rbp + %1 + L_NPAD], rax
        shl     rax, 6
        lea     rcx, [r11 * 8]
        bswap   rcx
        mov     [rbp + %1 + L_PAD + rax - 8], rcx
%%end:
%endmacro

; LOAD_NODE lane, S0, S1: pair r14 of rbx into the lane, as two tail blocks:
; [0x01 | left | right[0:31]] and [right[31] | 0x80 | zeros | 520 as a 64-bit big-endian number].
%macro LOAD_NODE 3
        cmp     r14, r12
        jb      %%take
        mov     qword [rbp + %1 + L_ON], 0
        jmp     %%end
%%take:
        START_LANE %1, %2, %3, ONES
        mov     rsi, r14
        shl     rsi, 6
        add     rsi, rbx
        mov     rdx, r14
        shl     rdx, 5
        add     rdx, r13
        mov     [rbp + %1 + L_OUT], rdx
        inc     r14
        mov     qword [rbp + %1 + L_NFULL], 0
        mov     qword [rbp + %1 + L_NPAD], 2
        pxor    xmm0, xmm0
        movdqa  [rbp + %1 + L_PAD + 64], xmm0
        movdqa  [rbp + %1 + L_PAD + 80], xmm0
        movdqa  [rbp + %1 + L_PAD + 96], xmm0
        movdqa  [rbp + %1 + L_PAD + 112], xmm0
        movdqu  xmm0, [rsi]
        movdqu  [rbp + %1 + L_PAD + 1], xmm0
        movdqu  xmm0, [rsi + 16]
        movdqu  [rbp + %1 + L_PAD + 17], xmm0
        movdqu  xmm0, [rsi + 32]
        movdqu  [rbp + %1 + L_PAD + 33], xmm0
        movdqu  xmm0, [rsi + 48]
        movdqu  [rbp + %1 + L_PAD + 49], xmm0   ; bytes 49..64: right[16:32], its last byte alone in the second block
        mov     byte [rbp + %1 + L_PAD], 0x01
        mov     byte [rbp + %1 + L_PAD + 65], 0x80
        mov     word [rbp + %1 + L_PAD + 126], 0x0802   ; 520 = 0x0208, big-endian
%%end:
%endmacro

; Entry: the callee-saved registers pushed, a 64-byte aligned frame below them (rbp), rsp
; below the frame holding the caller's rsp for the way out.
%macro ENTER 0
        push    rbp
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        mov     rax, rsp
        lea     rbp, [rsp - FRAME - 64]
        and     rbp, -64
        lea     rsp, [rbp - 16]
        push    rax
%endmacro

%macro LEAVE_ 0
        pop     rsp
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        pop     rbp
        ret
%endmacro

ato_sha256_leaves:
        test    rdx, rdx
        jz      .none
        ENTER
        mov     rbx, rdi                ; buf
        mov     r15, rsi                ; spans
        mov     r12, rdx                ; count
        mov     r13, rcx                ; out
        call    run_leaves
        LEAVE_
.none:
        ret

ato_sha256_spans_within:
        xor     eax, eax                ; i
.next:
        cmp     rax, rsi
        jae     .done
        mov     r8d, [rdi + 8 * rax]    ; start (zero-extended to 64 bits)
        mov     r9d, [rdi + 8 * rax + 4] ; length
        test    r8, r8
        jz      .done
        add     r8, r9
        cmp     r8, rdx
        ja      .done
        inc     rax
        jmp     .next
.done:
        ret

ato_sha256_nodes:
        test    rsi, rsi
        jz      .none
        ENTER
        mov     rbx, rdi                ; in
        mov     r12, rsi                ; count
        mov     r13, rdx                ; out
        call    run_nodes
        LEAVE_
.none:
        ret

; The loops proper, with rbp = the aligned frame, rbx/r12/r13 (and r15 for leaves) set.
%macro LOOP 1
        movdqa  xmm8, [BSWAP32]
        xor     r14, r14
        %1      LANE_A, xmm1, xmm2
        %1      LANE_B, xmm9, xmm10
%%loop:
        mov     rax, [rbp + LANE_A + L_ON]
        or      rax, [rbp + LANE_B + L_ON]
        jz      %%done
        NEXT_BLOCK LANE_A, r8
        NEXT_BLOCK LANE_B, r9
        COMPRESS2
        FINISH_LANE %1, LANE_A, xmm1, xmm2, xmm7
        FINISH_LANE %1, LANE_B, xmm9, xmm10, xmm15
        jmp     %%loop
%%done:
        ret
%endmacro

run_leaves:
        LOOP    LOAD_LEAF

run_nodes:
        LOOP    LOAD_NODE
