// sha256_tree_arm64.S: arm64's build of libatosha256.so (see asm/sha256_tree.asm for the ABI).
// It has no SHA routine yet: ato_sha256_path() reports 0, so ffi/sha256.ts never calls the
// entry points and `ato verify` hashes with Bun.SHA256. The two hash ones exist (and return at
// once) only so the library has every symbol of the ABI; the span check is the real one.
// (ARMv8's SHA-256 instructions would fit here.)

        .text
        .global ato_sha256_abi_version
        .type   ato_sha256_abi_version, %function
ato_sha256_abi_version:
        mov     w0, #2
        ret

        .global ato_sha256_path
        .type   ato_sha256_path, %function
ato_sha256_path:
        mov     w0, #0
        ret

        .global ato_sha256_leaves
        .type   ato_sha256_leaves, %function
ato_sha256_leaves:
        ret

        .global ato_sha256_nodes
        .type   ato_sha256_nodes, %function
ato_sha256_nodes:
        ret
        // x0 spans, x1 count, x2 size: the first span with start 0 or start + length > size, or count.
        .global ato_sha256_spans_within
        .type   ato_sha256_spans_within, %function
ato_sha256_spans_within:
        mov     x3, #0
1:      cmp     x3, x1
        b.hs    2f
        add     x6, x0, x3, lsl #3
        ldp     w4, w5, [x6]            // start, length (zero-extended)
        cbz     x4, 2f
        add     x4, x4, x5
        cmp     x4, x2
        b.hi    2f
        add     x3, x3, #1
        b       1b
2:      mov     x0, x3
        ret

        .section .note.GNU-stack,"",%progbits
