; fast_mask.asm: SIMD masking of 16-byte address slots (ato L3, "Masking").
;
; A slot holds one address: IPv6 as is, IPv4 in its first 4 bytes and 12 zero bytes.
; A batch is masked in place, one call per batch:
;
;   void ato_mask_batch(uint8_t *slots, const uint8_t *sel, const uint8_t *masks, uint64_t count)
;
;   slots  count x 16 bytes, masked in place
;   sel    count bytes; slot i is ANDed with mask (sel[i] & 1); the other bits are ignored,
;          so no value of sel can make the routine read outside masks
;   masks  2 x 16 bytes: mask 0 (ato uses it for IPv4) then mask 1 (IPv6)
;
; Two masks chosen per slot let one batch mix IPv4 and IPv6 flows, as the flow map does.
; No pointer needs any alignment (movdqu / vmovdqu); with count 0 no pointer is read.
;
; Entry points (System V x86-64: rdi = slots, rsi = sel, rdx = masks, rcx = count):
;   ato_mask_batch        the product path: AVX2 where the CPU and OS support it, else SSE2
;   ato_mask_batch_sse2   always the 16-byte path (for parity tests and benchmarks)
;   ato_mask_batch_avx2   always the 32-byte path; only call it when ato_mask_path() == 2
;   ato_mask_path         2 when ato_mask_batch uses AVX2, 1 when it uses SSE2
;   ato_mask_keys         masks the addresses of a batch of flow keys into slots (below)
;   ato_mask_abi_version  2; bumped whenever a signature above changes
;
;   void ato_mask_keys(const uint8_t *keys, uint8_t *slots, const uint8_t *masks, uint64_t count)
;
;   keys   count x 48-byte struct flow_key (bpf/xdp_audit.h: src at 0, dst at 16, family at 44)
;   slots  count x 32 bytes written: key i's src then dst, each ANDed with mask 1 when its
;          family byte is 6, else mask 0 (what ato_mask_batch gives for the copied slots with
;          sel = family == 6); the keys are not modified
;
; Why: the collector's chunks hold their flows' keys, and copying each key's two addresses to
; slots in JavaScript was a per-flow loop run uncompiled at the agent's stop.

default rel
bits 64

ABI_VERSION equ 2
PATH_SSE2   equ 1
PATH_AVX2   equ 2

global ato_mask_abi_version:function
global ato_mask_path:function
global ato_mask_batch:function
global ato_mask_batch_sse2:function
global ato_mask_batch_avx2:function
global ato_mask_keys:function

section .bss
align 4
chosen_path: resd 1             ; 0 until probed, then PATH_SSE2 or PATH_AVX2 (benign race: same value)

section .text

ato_mask_abi_version:
        mov     eax, ABI_VERSION
        ret

; uint32_t ato_mask_path(void)
ato_mask_path:
path:
        mov     eax, [chosen_path]
        test    eax, eax
        jnz     .known
        call    probe
        mov     [chosen_path], eax
.known:
        ret

; Returns PATH_AVX2 when CPUID reports AVX2 and the OS saves YMM state (OSXSAVE and
; XCR0 bits 1-2), else PATH_SSE2 (every x86-64 CPU has SSE2). Clobbers rax, rcx, rdx, r8.
probe:
        push    rbx                     ; cpuid writes rbx, which is callee-saved
        mov     r8d, PATH_SSE2
        xor     eax, eax
        cpuid                           ; eax = highest standard leaf
        cmp     eax, 7
        jb      .done
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        and     ecx, (1 << 27) | (1 << 28)      ; OSXSAVE, AVX
        cmp     ecx, (1 << 27) | (1 << 28)
        jne     .done
        xor     ecx, ecx
        xgetbv                          ; edx:eax = XCR0
        and     eax, 6                  ; XMM and YMM state enabled
        cmp     eax, 6
        jne     .done
        mov     eax, 7
        xor     ecx, ecx
        cpuid
        test    ebx, 1 << 5             ; AVX2
        jz      .done
        mov     r8d, PATH_AVX2
.done:
        mov     eax, r8d
        pop     rbx
        ret

; void ato_mask_batch(slots, sel, masks, count): dispatch once probed.
ato_mask_batch:
        mov     eax, [chosen_path]
        test    eax, eax
        jnz     .dispatch
        push    rdi
        push    rsi
        push    rdx
        push    rcx
        sub     rsp, 8                  ; keep the stack 16-byte aligned at the call
        call    path
        add     rsp, 8
        pop     rcx
        pop     rdx
        pop     rsi
        pop     rdi
.dispatch:
        cmp     eax, PATH_AVX2
        je      batch_avx2
        jmp     batch_sse2

; One slot per step: movdqu the slot, movdqu its mask, pand, store.
ato_mask_batch_sse2:
batch_sse2:
        test    rcx, rcx
        jz      .ret
.loop:
        movzx   eax, byte [rsi]
        and     eax, 1
        shl     eax, 4                  ; byte offset of mask 0 or mask 1
        movdqu  xmm0, [rdi]
        movdqu  xmm1, [rdx + rax]
        pand    xmm0, xmm1
        movdqu  [rdi], xmm0
        add     rdi, 16
        inc     rsi
        dec     rcx
        jnz     .loop
.ret:
        ret

; Two slots per ymm register, four slots per step. A pair's 32-byte mask is one of four
; combinations, built once on the stack: entry k = (sel[i] & 1) | (sel[i+1] & 1) << 1
; holds mask (k & 1) in its low lane (slot i) and mask (k >> 1) in its high lane.
ato_mask_batch_avx2:
batch_avx2:
        test    rcx, rcx
        jz      .ret
        push    rbp
        mov     rbp, rsp
        sub     rsp, 128
        and     rsp, -32
        vmovdqu xmm0, [rdx]             ; mask 0
        vmovdqu xmm1, [rdx + 16]        ; mask 1
        vinserti128 ymm2, ymm0, xmm0, 1 ; k = 0: mask 0 | mask 0
        vinserti128 ymm3, ymm1, xmm0, 1 ; k = 1: mask 1 | mask 0
        vinserti128 ymm4, ymm0, xmm1, 1 ; k = 2: mask 0 | mask 1
        vinserti128 ymm5, ymm1, xmm1, 1 ; k = 3: mask 1 | mask 1
        vmovdqa [rsp], ymm2
        vmovdqa [rsp + 32], ymm3
        vmovdqa [rsp + 64], ymm4
        vmovdqa [rsp + 96], ymm5

        mov     r8, rcx
        shr     r8, 2                   ; steps of four slots
        jz      .pair
.four:
        movzx   eax, byte [rsi]
        movzx   r9d, byte [rsi + 1]
        movzx   r10d, byte [rsi + 2]
        movzx   r11d, byte [rsi + 3]
        and     eax, 1
        and     r9d, 1
        and     r10d, 1
        and     r11d, 1
        lea     eax, [rax + r9 * 2]
        lea     r10d, [r10 + r11 * 2]
        shl     eax, 5                  ; byte offset of combination k
        shl     r10d, 5
        vmovdqu ymm0, [rdi]
        vmovdqu ymm1, [rdi + 32]
        vpand   ymm0, ymm0, [rsp + rax]
        vpand   ymm1, ymm1, [rsp + r10]
        vmovdqu [rdi], ymm0
        vmovdqu [rdi + 32], ymm1
        add     rdi, 64
        add     rsi, 4
        dec     r8
        jnz     .four
.pair:
        test    rcx, 2
        jz      .one
        movzx   eax, byte [rsi]
        movzx   r9d, byte [rsi + 1]
        and     eax, 1
        and     r9d, 1
        lea     eax, [rax + r9 * 2]
        shl     eax, 5
        vmovdqu ymm0, [rdi]
        vpand   ymm0, ymm0, [rsp + rax]
        vmovdqu [rdi], ymm0
        add     rdi, 32
        add     rsi, 2
.one:
        test    rcx, 1
        jz      .done
        movzx   eax, byte [rsi]
        and     eax, 1
        shl     eax, 5                  ; k = 0 or 1: the low lane is mask 0 or mask 1
        vmovdqu xmm0, [rdi]
        vpand   xmm0, xmm0, [rsp + rax]
        vmovdqu [rdi], xmm0
.done:
        vzeroupper                      ; no AVX-SSE transition penalty for the caller
        mov     rsp, rbp
        pop     rbp
.ret:
        ret

;ato_mask_keys(keys, slots, masks, count): one key per step, SSE2 (the keys' stride leaves
; nothing to gain from 32-byte registers at the stop's few thousand flows).
ato_mask_keys:
        test    rcx, rcx
        jz      .ret
.loop:
        xor     eax, eax
        cmp     byte [rdi + 44], 6
        sete    al
        shl     eax, 4                  ; byte offset of mask 0 or mask 1
        movdqu  xmm1, [rdx + rax]
        movdqu  xmm0, [rdi]
        movdqu  xmm2, [rdi + 16]
        pand    xmm0, xmm1
        pand    xmm2, xmm1
        movdqu  [rsi], xmm0
        movdqu  [rsi + 16], xmm2
        add     rdi, 48
        add     rsi, 32
        dec     rcx
        jnz     .loop
.ret:
        ret

section .note.GNU-stack noalloc noexec nowrite progbits
