// sha256_tree_arm64.S: arm64's build of libatosha256.so (see asm/sha256_tree.asm for the ABI).
// It has no SHA routine yet: ato_sha256_path() reports 0, so ffi/sha256.ts never calls the two
// hash entry points and `ato verify` hashes with Bun.SHA256. They exist (and return at once)
// only so the library has every symbol of the ABI. (ARMv8's SHA-256 instructions would fit here.)

        .text
        .global ato_sha256_abi_version
        .type   ato_sha256_abi_version, %function
ato_sha256_abi_version:
        mov     w0, #1
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
        .section .note.GNU-stack,"",%progbits
