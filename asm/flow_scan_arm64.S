// flow_scan_arm64.S: arm64's build of libatoscan.so (see asm/flow_scan.asm for the ABI).
// It has no scan routine yet: ato_scan_abi_version() reports 0, so ffi/scan.ts never calls
// ato_scan_batch or ato_flow_lines and the collector scans with its TypeScript loop (src/collector/scan.ts).
// That loop keeps the whole contract of ABI 4 (the due flows written into the chunk as the scan meets
// them, through DueChunk.addSlot, and the same stops), so arm64 writes the same records in the same order.
// The entry points exist (and return at once) only so the library has every symbol. The library's
// new-flow routines are real: asm/flow_new_arm64.S, linked beside this file (ffi/scan.ts's nativeNewFlows).

        .text
        .global ato_scan_abi_version
        .type   ato_scan_abi_version, %function
ato_scan_abi_version:
        mov     w0, #0
        ret

        .global ato_scan_batch
        .type   ato_scan_batch, %function
ato_scan_batch:
        mov     x0, #0
        ret
        .global ato_flow_lines
        .type   ato_flow_lines, %function
ato_flow_lines:
        mov     x0, x3
        ret
        .section .note.GNU-stack,"",%progbits
