#!/usr/bin/env bash
# The one build entry point:
#   dist/xdp_audit.o        the XDP program (clang -target bpf -O2 -g, with BTF)
#   dist/xdp_audit_compat.o the same for kernels before 5.12, loaded only when those refuse the first
#   dist/flow_sum.o         the conservation check's walk of the flow map in the kernel (Linux 5.19+)
#   dist/lib/libbpf.so.1    libbpf, embedded into the binary so a host needs no libbpf package
#   dist/lib/libatomask.so  the NASM masking routines
#   dist/lib/libatosha256.so the NASM SHA-NI leaf and node hashes for ato verify (x86-64 only)
#   dist/lib/libatoscan.so  the NASM fast path of the collector's map read (x86-64 only)
#   dist/ato                bun build --compile --bytecode, with the objects and libraries above embedded
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist/lib build

arch_inc="/usr/include/$(uname -m)-linux-gnu"
for obj in xdp_audit flow_sum bench_pass bench_count bench_floor bench_tc_pass; do
  [ -f "bpf/$obj.c" ] || continue
  clang -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_x86 -I bpf -I "$arch_inc" -c "bpf/$obj.c" -o "dist/$obj.o"
done
# The same program for kernels before 5.12 (parse_l4 inlined, no coarse clock): see bpf/xdp_audit.c.
clang -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_x86 -DATO_COMPAT_510 -I bpf -I "$arch_inc" \
  -c bpf/xdp_audit.c -o dist/xdp_audit_compat.o

# libbpf: Debian's libbpf.a is not position independent, so it cannot go into a shared
# object of ours; the shared libbpf is embedded instead (it needs only libelf1, zlib1g, libc6).
libbpf_real=$(readlink -f "/usr/lib/$(uname -m)-linux-gnu/libbpf.so.1")
cp "$libbpf_real" dist/lib/libbpf.so.1

if [ -f asm/fast_mask.asm ]; then
  nasm -f elf64 -o build/fast_mask.o asm/fast_mask.asm
  gcc -shared -nostdlib -Wl,-z,noexecstack -o dist/lib/libatomask.so build/fast_mask.o
fi
if [ -f asm/flow_scan.asm ]; then
  nasm -f elf64 -o build/flow_scan.o asm/flow_scan.asm
  nasm -f elf64 -o build/flow_new.o asm/flow_new.asm # the take-in of new flows and the DUE row copy
  gcc -shared -nostdlib -Wl,-z,noexecstack -o dist/lib/libatoscan.so build/flow_scan.o build/flow_new.o
fi
if [ -f asm/sha256_tree.asm ]; then
  nasm -f elf64 -o build/sha256_tree.o asm/sha256_tree.asm
  gcc -shared -nostdlib -Wl,-z,noexecstack -o dist/lib/libatosha256.so build/sha256_tree.o
fi

# ATO_COMMIT names the commit where there is no .git (the image build, deploy/ato/Dockerfile).
commit=${ATO_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
# Second entry points (new Worker in the code): src/metrics/worker.ts (src/metrics/published.ts) and
# src/verify/hash-worker.ts (src/verify/hash-worker-pool.ts) go into the binary too.
# --bytecode (ESM, for main.ts's top-level await): JavaScriptCore loads the three entry points as bytecode
# compiled here instead of parsing the ~420 bundled modules at every start. Measured on this 2-core VM
# against the same source without it: `ato version` 75-100 ms -> 37-39 ms, start to attached (1 M-flow
# map) 189-238 ms -> 102-127 ms, `ato run`'s CPU from spawn to listening median 0.58 s -> 0.46 s
# (bench-peers' "start"). The running agent's CPU per Mpkt, `ato verify` on 300 MB and /metrics p99 are
# unchanged (docs/runtime.md). `ato version` says "modules  bytecode" (test/cli/version.test.ts).
bun build src/main.ts src/metrics/worker.ts src/verify/hash-worker.ts --compile --bytecode --format=esm --outfile dist/ato \
  --define "ATO_COMMIT=\"$commit\"" >/dev/null
echo "build: dist/ato dist/xdp_audit.o dist/xdp_audit_compat.o dist/flow_sum.o dist/lib/$(ls dist/lib | tr '\n' ' ')"
