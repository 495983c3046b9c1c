; flow_lines.asm: a chunk's flow records as whole evidence lines (ato L2, src/collector/chunk-line.ts,
; whose TypeScript ChunkWriter.text is the oracle these bytes must equal). Included by flow_scan.asm:
; one library (libatoscan.so), one binding (ffi/scan.ts).
;
;   uint64_t ato_flow_lines(const uint64_t *ptrs, uint32_t *ints, const double *f, uint64_t from, uint64_t n)
;
; Writes lines from..n-1 of an append, line k being the chunk's record base+k:
;   head {"bytes":…,…} mid seq tail "\n"
; the record's members in RFC 8785 order, as records.ts's flowRecord has them on the masker's fast
; path (no tokens, seals or kept ports: the caller does not call then). It stops at the first line it
; cannot write as the oracle would, writing nothing of that line, and returns its k (n when it wrote
; every line): the caller writes that one and calls again after it.
; It stops (ints[29] = 1) at a record of another ifindex than ints[3], or (ints[29] = 2) at a record
; that is not IPv4, whose reason code has no text, whose counts are not whole numbers in [0, 2^53),
; whose kernel times are not whole numbers in [0, 2^63) (a host up longer than 2^53 ns, 104 days, has
; times past 2^53: every such double is whole, and the wall ms is exact in 64-bit integers), whose wall
; time is before 1970 or after 9999 (negative, or past MAX_MS), or when out has less room than a line needs.
;
; ptrs: [0] keys (48 bytes per record: struct flow_key) [1] masked address slots (32 bytes per record:
;   source, then destination) [2] dPackets [3] dBytes [4] dFragments [5] packets [6] bytes
;   [7] firstSeen [8] lastSeen (doubles) [9] tcpFlags [10] timingFlags [11] spikes (uint32)
;   [12] reason codes (uint8) [13] consts (the texts below) [14] out [15] spans (uint32 pairs, per k)
; ints: [0] pos (out's next byte; read and updated) [1] out's size [2] IPv4 prefix [3] ifindex
;   [4] base [5,6] head offset, length in consts [7,8] mid [9,10] tail [11,12] the iface's JSON string
;   [13 + 2c, 14 + 2c] reason code c's JSON string (c < 8; length 0: none) [29] why it stopped
; f: [0] offset ms, [1] offset rest ns (KernelClock: wall ms = [0] + floor((mono ns + [1]) / 1e6)),
;   [2] the seq of line 0
; spans[2k], spans[2k+1]: line k's start in out and its length without the newline.

%include "asm/flow_macros.inc" ; ENTER_FRAME, LEAVE_FRAME (flow_scan.asm included it already: guarded)

global ato_flow_lines:function

LP_KEYS   equ 0
LP_SLOTS  equ 8
LP_DPKT   equ 16
LP_DBYTES equ 24
LP_DFRAG  equ 32
LP_PKT    equ 40
LP_BYTES  equ 48
LP_FIRST  equ 56
LP_LAST   equ 64
LP_TCP    equ 72
LP_TIMING equ 80
LP_SPIKES equ 88
LP_REASON equ 96
LP_CONSTS equ 104
LP_OUT    equ 112
LP_SPANS  equ 120

; struct flow_key offsets
K_IFINDEX equ 32
K_DPORT   equ 38
K_VLAN    equ 40
K_VLAN_IN equ 42
K_FAMILY  equ 44
K_PROTO   equ 45

MAX_SAFE  equ 1 << 53
MAX_MS    equ 253402300799999   ; 9999-12-31T23:59:59.999Z
LINE_ROOM equ 640               ; a line's bytes beyond its head, mid, tail, iface and reason (at most ~530, with the stores' 7-byte overrun)

; locals, from rsp
F_OUT     equ 0
F_CAP     equ 8
F_CONSTS  equ 16
F_SPANS   equ 24
F_OFFMS   equ 32
F_REST    equ 40
F_SEQ0    equ 48
F_PREFIX  equ 56
F_NEED    equ 64
F_LASTSEC equ 72                ; first_seen's cached second, and its 24-byte prefix '"YYYY-MM-DDTHH:MM:SS.'
F_TPRE    equ 80
F_DBYTES  equ 104
F_BYTES   equ 112
F_DPKT    equ 120
F_PKT     equ 128
F_DFRAG   equ 136
F_MSFIRST equ 144
F_MSLAST  equ 152
F_KEY     equ 160
F_START   equ 168
F_LASTSEC2 equ 184              ; last_seen's cached second and prefix: a record's two times are seconds apart
F_TPRE2   equ 192               ; (the flow's start, its last packet), so one cache for both would miss at each
F_TSCR    equ 216               ; iso_second's output, copied into the cache that missed
F_FRAME   equ 248

; Writes the literal string %1 at rdi and advances rdi (8-byte stores: up to 7 bytes past it are scratch).
%macro LIT 1
  %strlen %%len %1
  %assign %%i 1
  %rep (%%len + 7) / 8
    %substr %%part %1 %%i, 8
        mov     rax, %%part
        mov     [rdi + %%i - 1], rax
    %assign %%i %%i + 8
  %endrep
        add     rdi, %%len
%endmacro

; An optional member: when eax (its value, just loaded) is not 0, the text %1 and the value; absent at 0, as
; the oracle leaves it out (clobbers r13 and what put_u64 does).
%macro OPTIONAL 1
        test    eax, eax
        jz      %%absent
        mov     r13d, eax
        LIT     %1
        mov     eax, r13d
        call    put_u64
%%absent:
%endmacro

; Copies ints[%1] bytes from consts + ints[%1 - 1] to rdi, advancing rdi (clobbers rsi, rcx).
%macro CONST 1
        mov     esi, [r12 + (%1 - 1) * 4]
        add     rsi, [rsp + F_CONSTS]
        mov     ecx, [r12 + %1 * 4]
        rep movsb
%endmacro

; A whole double in [0, 2^53) at ptrs[%1][rbp] to [rsp + %2], else to .stop_other (clobbers rax, rdx, xmm0, xmm1).
%macro WHOLE 2
        mov     rax, [rbx + %1]
        movsd   xmm0, [rax + rbp * 8]
        cvttsd2si rax, xmm0
        test    rax, rax
        js      .stop_other
        mov     rdx, MAX_SAFE
        cmp     rax, rdx
        jae     .stop_other
        cvtsi2sd xmm1, rax
        ucomisd xmm0, xmm1
        jp      .stop_other
        jne     .stop_other
        mov     [rsp + %2], rax
%endmacro

; A whole double in [0, 2^63) at ptrs[%1][rbp] to rax, else to .stop_other (clobbers rax, xmm0, xmm1): a
; negative, NaN or a double of 2^63 or more converts to 0x8000000000000000 (negative); a fraction does not convert back.
%macro WHOLE63 1
        mov     rax, [rbx + %1]
        movsd   xmm0, [rax + rbp * 8]
        cvttsd2si rax, xmm0
        test    rax, rax
        js      .stop_other
        cvtsi2sd xmm1, rax
        ucomisd xmm0, xmm1
        jp      .stop_other
        jne     .stop_other
%endmacro

; The wall ms of the kernel time at ptrs[%1][rbp] to [rsp + %2], else to .stop_other (clobbers rax, rcx, rdx):
; offset ms + floor((mono + rest) / 1e6), mono + rest below 2^63 + 1e6 (no carry out of 64 bits).
%macro WALLMS 2
        WHOLE63 %1
        add     rax, [rsp + F_REST]
        xor     edx, edx
        mov     ecx, 1000000
        div     rcx
        add     rax, [rsp + F_OFFMS]
        js      .stop_other
        mov     rdx, MAX_MS
        cmp     rax, rdx
        ja      .stop_other
        mov     [rsp + %2], rax
%endmacro

; The quoted RFC 3339 time of the wall ms at [rsp + %1] at rdi: '"YYYY-MM-DDTHH:MM:SS.mmmZ"', the second's
; prefix cached at [rsp + %3] for the second at [rsp + %2].
%macro TIME 3
        mov     rax, [rsp + %1]
        xor     edx, edx
        mov     ecx, 1000
        div     rcx                     ; rax = second, rdx = ms within it
        mov     r10, rdx
        cmp     rax, [rsp + %2]
        je      %%cached
        mov     [rsp + %2], rax
        call    iso_second              ; F_TSCR (its frame is ours, 8 bytes further)
        mov     rax, [rsp + F_TSCR]
        mov     [rsp + %3], rax
        mov     rax, [rsp + F_TSCR + 8]
        mov     [rsp + %3 + 8], rax
        mov     rax, [rsp + F_TSCR + 16]
        mov     [rsp + %3 + 16], rax
%%cached:
        mov     rax, [rsp + %3]
        mov     [rdi], rax
        mov     rax, [rsp + %3 + 8]
        mov     [rdi + 8], rax
        mov     rax, [rsp + %3 + 16]
        mov     [rdi + 16], rax
        add     rdi, 21
        mov     eax, r10d
        xor     edx, edx
        mov     ecx, 100
        div     ecx                     ; eax = hundreds, edx = the rest
        add     al, '0'
        mov     [rdi], al
        lea     rcx, [rel digits2]
        movzx   eax, word [rcx + rdx * 2]
        mov     [rdi + 1], ax
        mov     word [rdi + 3], 'Z"'
        add     rdi, 5
%endmacro

; The IPv4 address of masked slot %1 (0 source, 1 destination) of record rbp, with its prefix, quoted
; after an opening quote already written: 'a.b.c.d/p"' (clobbers rax, rcx, rdx, r8, r9, r11).
%macro IPV4 1
        mov     r11, [rbx + LP_SLOTS]
        mov     rax, rbp
        shl     rax, 5
        add     r11, rax
%assign %%b 0
%rep 4
        movzx   eax, byte [r11 + %1 * 16 + %%b]
        call    put_u64
  %if %%b < 3
        mov     byte [rdi], '.'
        inc     rdi
  %endif
%assign %%b %%b + 1
%endrep
        mov     byte [rdi], '/'
        inc     rdi
        mov     rax, [rsp + F_PREFIX]
        call    put_u64
        mov     byte [rdi], '"'
        inc     rdi
%endmacro

section .rodata
digits2:
%assign d 0
%rep 100
        db      '0' + d / 10, '0' + d % 10
%assign d d + 1
%endrep

section .text

ato_flow_lines:
        ENTER_FRAME F_FRAME
        mov     rbx, rdi
        mov     r12, rsi
        mov     r15, rcx
        mov     r14, r8
        mov     rax, [rbx + LP_OUT]
        mov     [rsp + F_OUT], rax
        mov     eax, [r12 + 4]
        mov     [rsp + F_CAP], rax
        mov     rax, [rbx + LP_CONSTS]
        mov     [rsp + F_CONSTS], rax
        mov     rax, [rbx + LP_SPANS]
        mov     [rsp + F_SPANS], rax
        cvttsd2si rax, qword [rdx]
        mov     [rsp + F_OFFMS], rax
        cvttsd2si rax, qword [rdx + 8]
        mov     [rsp + F_REST], rax
        cvttsd2si rax, qword [rdx + 16]
        mov     [rsp + F_SEQ0], rax
        mov     eax, [r12 + 8]
        mov     [rsp + F_PREFIX], rax
        mov     qword [rsp + F_LASTSEC], -1
        mov     qword [rsp + F_LASTSEC2], -1
        ; the room a line needs: its fixed bytes, the head, mid, tail, iface and the longest reason
        mov     eax, LINE_ROOM
        add     eax, [r12 + 24]
        add     eax, [r12 + 32]
        add     eax, [r12 + 40]
        add     eax, [r12 + 48]
        xor     ecx, ecx
%assign c 0
%rep 8
        mov     edx, [r12 + (14 + 2 * c) * 4]
        cmp     edx, ecx
        cmova   ecx, edx
%assign c c + 1
%endrep
        add     eax, ecx
        mov     [rsp + F_NEED], rax

.line:
        cmp     r15, r14
        jae     .done
        mov     rax, [rsp + F_CAP]
        mov     ecx, [r12]
        sub     rax, rcx
        jb      .stop_other
        cmp     rax, [rsp + F_NEED]
        jb      .stop_other
        mov     ebp, [r12 + 16]
        add     rbp, r15                ; the chunk's record
        ; what the oracle would write differently: not IPv4, another interface, no reason text
        imul    r13, rbp, 48
        add     r13, [rbx + LP_KEYS]
        mov     [rsp + F_KEY], r13
        cmp     byte [r13 + K_FAMILY], 4
        jne     .stop_other
        mov     eax, [r13 + K_IFINDEX]
        cmp     eax, [r12 + 12]
        jne     .stop_iface
        mov     rax, [rbx + LP_REASON]
        movzx   eax, byte [rax + rbp]
        cmp     eax, 8
        jae     .stop_other
        cmp     dword [r12 + rax * 8 + 56], 0
        je      .stop_other
        WHOLE   LP_DBYTES, F_DBYTES
        WHOLE   LP_BYTES, F_BYTES
        WHOLE   LP_DPKT, F_DPKT
        WHOLE   LP_PKT, F_PKT
        WHOLE   LP_DFRAG, F_DFRAG
        WALLMS  LP_FIRST, F_MSFIRST
        WALLMS  LP_LAST, F_MSLAST

        mov     ecx, [r12]
        mov     [rsp + F_START], rcx
        mov     rdi, [rsp + F_OUT]
        add     rdi, rcx
        CONST   6                       ; head
        LIT     '{"bytes":'
        mov     rax, [rsp + F_DBYTES]
        call    put_u64
        LIT     ',"bytes_total":'
        mov     rax, [rsp + F_BYTES]
        call    put_u64
        LIT     ',"dst":"'
        IPV4    1
        LIT     ',"family":4,"first_seen":'
        TIME    F_MSFIRST, F_LASTSEC, F_TPRE
        cmp     qword [rsp + F_DFRAG], 0
        je      .no_frag
        LIT     ',"fragments":'
        mov     rax, [rsp + F_DFRAG]
        call    put_u64
.no_frag:
        mov     r13, [rsp + F_KEY]
        movzx   eax, byte [r13 + K_PROTO]
        cmp     eax, 1
        je      .icmp
        cmp     eax, 58
        jne     .no_icmp
.icmp:
        LIT     ',"icmp_code":'
        movzx   eax, byte [r13 + K_DPORT]       ; dport & 0xff (little-endian)
        call    put_u64
        LIT     ',"icmp_type":'
        movzx   eax, byte [r13 + K_DPORT + 1]   ; dport >> 8
        call    put_u64
.no_icmp:
        LIT     ',"iface":'
        CONST   12
        LIT     ',"last_seen":'
        TIME    F_MSLAST, F_LASTSEC2, F_TPRE2
        LIT     ',"packets":'
        mov     rax, [rsp + F_DPKT]
        call    put_u64
        LIT     ',"packets_total":'
        mov     rax, [rsp + F_PKT]
        call    put_u64
        LIT     ',"proto":'
        mov     r13, [rsp + F_KEY]
        movzx   eax, byte [r13 + K_PROTO]
        call    put_u64
        LIT     ',"reason":'
        mov     rax, [rbx + LP_REASON]
        movzx   eax, byte [rax + rbp]
        mov     esi, [r12 + rax * 8 + 52]
        add     rsi, [rsp + F_CONSTS]
        mov     ecx, [r12 + rax * 8 + 56]
        rep movsb
        mov     rax, [rbx + LP_SPIKES]
        mov     eax, [rax + rbp * 4]
        OPTIONAL ',"spikes_total":'
        LIT     ',"src":"'
        IPV4    0
        mov     r13, [rsp + F_KEY]
        cmp     byte [r13 + K_PROTO], 6
        jne     .no_tcp
        LIT     ',"tcp_flags":'
        mov     rax, [rbx + LP_TCP]
        mov     eax, [rax + rbp * 4]
        call    put_u64
.no_tcp:
        mov     rax, [rbx + LP_TIMING]
        mov     eax, [rax + rbp * 4]
        OPTIONAL ',"timing_flags_total":'
        mov     r13, [rsp + F_KEY]
        movzx   eax, word [r13 + K_VLAN]
        OPTIONAL ',"vlan":'
        mov     r13, [rsp + F_KEY]
        movzx   eax, word [r13 + K_VLAN_IN]
        OPTIONAL ',"vlan_inner":'
        mov     byte [rdi], '}'
        inc     rdi
        CONST   8                       ; mid
        mov     rax, [rsp + F_SEQ0]
        add     rax, r15
        call    put_u64
        CONST   10                      ; tail
        ; the span, the newline, the next line
        mov     rax, rdi
        sub     rax, [rsp + F_OUT]
        mov     rcx, [rsp + F_START]
        mov     rdx, [rsp + F_SPANS]
        mov     [rdx + r15 * 8], ecx
        sub     eax, ecx
        mov     [rdx + r15 * 8 + 4], eax
        mov     byte [rdi], 10
        inc     rdi
        sub     rdi, [rsp + F_OUT]
        mov     [r12], edi
        inc     r15
        jmp     .line

.stop_iface:
        mov     dword [r12 + 29 * 4], 1
        jmp     .out
.stop_other:
        mov     dword [r12 + 29 * 4], 2
        jmp     .out
.done:
        mov     dword [r12 + 29 * 4], 0
.out:
        mov     rax, r15
        LEAVE_FRAME F_FRAME

; rax (unsigned) in decimal at rdi, rdi advanced (clobbers rax, rcx, rdx, r8, r9; its digits go below rsp, a leaf's red zone).
put_u64:
        mov     r8, 0xCCCCCCCCCCCCCCCD
        mov     rcx, rsp
.digit:
        mov     r9, rax
        mul     r8
        shr     rdx, 3                  ; rdx = rax / 10
        lea     rax, [rdx + rdx * 4]
        add     rax, rax
        sub     r9, rax
        add     r9b, '0'
        dec     rcx
        mov     [rcx], r9b
        mov     rax, rdx
        test    rax, rax
        jnz     .digit
.copy:
        mov     al, [rcx]
        mov     [rdi], al
        inc     rdi
        inc     rcx
        cmp     rcx, rsp
        jne     .copy
        ret

; The caller's F_TSCR (8 bytes above our rsp: the return address) for the second in rax:
; '"YYYY-MM-DDTHH:MM:SS.' by Howard Hinnant's civil_from_days (clobbers rax, rcx, rdx, r8, r9, r11).
iso_second:
        xor     edx, edx
        mov     ecx, 86400
        div     rcx                     ; rax = days, rdx = second of the day
        mov     r11, rdx
        add     rax, 719468             ; z
        mov     r8, rax
        xor     edx, edx
        mov     ecx, 146097
        div     rcx                     ; rax = era
        imul    r9, rax, 400            ; era * 400
        imul    rax, rax, 146097
        sub     r8, rax                 ; r8 = doe
        ; yoe = (doe - doe/1460 + doe/36524 - doe/146096) / 365
        mov     rax, r8
        xor     edx, edx
        mov     ecx, 1460
        div     rcx
        mov     rcx, r8
        sub     rcx, rax
        push    rcx
        mov     rax, r8
        xor     edx, edx
        mov     ecx, 36524
        div     rcx
        pop     rcx
        add     rcx, rax
        push    rcx
        mov     rax, r8
        xor     edx, edx
        mov     ecx, 146096
        div     rcx
        pop     rcx
        sub     rcx, rax
        mov     rax, rcx
        xor     edx, edx
        mov     ecx, 365
        div     rcx                     ; rax = yoe
        add     r9, rax                 ; y = yoe + era * 400
        ; doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        imul    rcx, rax, 365
        mov     rdx, rax
        shr     rdx, 2
        add     rcx, rdx
        push    rcx
        xor     edx, edx
        mov     ecx, 100
        div     rcx
        pop     rcx
        sub     rcx, rax
        sub     r8, rcx                 ; r8 = doy
        ; mp = (5 * doy + 2) / 153
        lea     rax, [r8 + r8 * 4 + 2]
        xor     edx, edx
        mov     ecx, 153
        div     rcx                     ; rax = mp
        push    rax
        ; day = doy - (153 * mp + 2) / 5 + 1
        imul    rax, rax, 153
        add     rax, 2
        xor     edx, edx
        mov     ecx, 5
        div     rcx
        sub     r8, rax
        inc     r8                      ; r8 = day
        pop     rax                     ; mp
        lea     rcx, [rax + 3]
        sub     rax, 9
        cmp     rcx, 12
        cmova   rcx, rax                ; month = mp < 10 ? mp + 3 : mp - 9
        cmp     rcx, 3
        adc     r9, 0                   ; year += month <= 2 (the carry of month < 3)
        ; frame: [rsp] return address, caller's F_TSCR at rsp + 8 + F_TSCR
        lea     rdx, [rel digits2]
        mov     byte [rsp + 8 + F_TSCR], '"'
        mov     rax, r9
        push    rdx
        xor     edx, edx
        push    rcx
        mov     ecx, 100
        div     rcx                     ; rax = century digits, rdx = year % 100
        pop     rcx
        mov     r9, rdx
        pop     rdx
        movzx   eax, word [rdx + rax * 2]
        mov     [rsp + 8 + F_TSCR + 1], ax
        movzx   eax, word [rdx + r9 * 2]
        mov     [rsp + 8 + F_TSCR + 3], ax
        mov     byte [rsp + 8 + F_TSCR + 5], '-'
        movzx   eax, word [rdx + rcx * 2]
        mov     [rsp + 8 + F_TSCR + 6], ax
        mov     byte [rsp + 8 + F_TSCR + 8], '-'
        movzx   eax, word [rdx + r8 * 2]
        mov     [rsp + 8 + F_TSCR + 9], ax
        mov     byte [rsp + 8 + F_TSCR + 11], 'T'
        ; hour, minute, second of r11
        mov     r8, rdx
        mov     rax, r11
        xor     edx, edx
        mov     ecx, 3600
        div     rcx                     ; rax = hour, rdx = second of the hour
        movzx   eax, word [r8 + rax * 2]
        mov     [rsp + 8 + F_TSCR + 12], ax
        mov     byte [rsp + 8 + F_TSCR + 14], ':'
        mov     rax, rdx
        xor     edx, edx
        mov     ecx, 60
        div     rcx
        movzx   eax, word [r8 + rax * 2]
        mov     [rsp + 8 + F_TSCR + 15], ax
        mov     byte [rsp + 8 + F_TSCR + 17], ':'
        movzx   eax, word [r8 + rdx * 2]
        mov     [rsp + 8 + F_TSCR + 18], ax
        mov     byte [rsp + 8 + F_TSCR + 20], '.'
        ret
