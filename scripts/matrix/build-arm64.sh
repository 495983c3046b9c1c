#!/usr/bin/env bash
# dist/ato-arm64: ato for linux-arm64, cross-built here. The BPF object is the same portable file
# (CO-RE, BTF); the masking routine is asm/fast_mask_arm64.S (NEON, same ABI as the NASM one), the
# collector's new-flow routines asm/flow_new_arm64.S (same ABI as asm/flow_new.asm);
# libbpf is Debian's arm64 libbpf1 (apt-get download through a private apt state, dpkg -x: the
# host's apt configuration is not changed); Bun's runtime is its linux-arm64 target (bun fetches
# @oven/bun-linux-aarch64 from npm once). The compile runs on a copy of the source tree whose
# dist/lib holds the arm64 libraries, since the bindings embed "../dist/lib/<name>".
#
#   bash scripts/matrix/build-arm64.sh        (after bash scripts/build.sh: it reuses dist/xdp_audit.o)
# Needs binutils-aarch64-linux-gnu and g++-aarch64-linux-gnu (the pkcs11js addon). Cache: $ATO_MATRIX_CACHE (default /var/cache/ato-matrix).
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${ATO_MATRIX_CACHE:-/var/cache/ato-matrix}
MIRROR=${MATRIX_MIRROR:-http://deb.debian.org/debian}
[ -f dist/xdp_audit.o ] || { echo "build-arm64: dist/xdp_audit.o missing (bash scripts/build.sh)" >&2; exit 1; }
command -v aarch64-linux-gnu-g++ >/dev/null || { echo "build-arm64: aarch64-linux-gnu-g++ not found (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }

# shellcheck source=apt-arm64.sh
source scripts/matrix/apt-arm64.sh

tree=build/arm64
rm -rf "$tree" && mkdir -p "$tree/dist/lib"
dpkg-deb -x "$(arm64_deb libbpf1)" "$tree/libbpf"
cp "$(readlink -f "$(ls "$tree"/libbpf/usr/lib/aarch64-linux-gnu/libbpf.so.1)")" "$tree/dist/lib/libbpf.so.1"
aarch64-linux-gnu-as -o "$tree/fast_mask_arm64.o" asm/fast_mask_arm64.S
aarch64-linux-gnu-ld -shared -z noexecstack -o "$tree/dist/lib/libatomask.so" "$tree/fast_mask_arm64.o"
aarch64-linux-gnu-as -o "$tree/flow_scan_arm64.o" asm/flow_scan_arm64.S # no scan routine: the collector scans in TypeScript
aarch64-linux-gnu-as -o "$tree/flow_new_arm64.o" asm/flow_new_arm64.S   # and takes new flows in natively
aarch64-linux-gnu-ld -shared -z noexecstack -o "$tree/dist/lib/libatoscan.so" "$tree/flow_scan_arm64.o" "$tree/flow_new_arm64.o"
aarch64-linux-gnu-as -o "$tree/sha256_tree_arm64.o" asm/sha256_tree_arm64.S # no SHA routine: verify uses Bun.SHA256
aarch64-linux-gnu-ld -shared -z noexecstack -o "$tree/dist/lib/libatosha256.so" "$tree/sha256_tree_arm64.o"
cp dist/xdp_audit.o dist/xdp_audit_compat.o dist/flow_sum.o "$tree/dist/"
cp -r src ffi package.json tsconfig.json "$tree/"
# node_modules as the host has it, but for pkcs11js, whose N-API addon is built for arm64 here
# (its three sources, Node's headers; N-API makes the addon independent of the runtime's version).
mkdir -p "$tree/node_modules"
for m in node_modules/* node_modules/.bin; do [ "$m" = node_modules/pkcs11js ] || ln -s "$PWD/$m" "$tree/$m"; done
p11=node_modules/pkcs11js
mkdir -p "$tree/$p11/build/Release"
cp -r "$p11/package.json" "$p11/index.js" "$tree/$p11/"
aarch64-linux-gnu-g++ -shared -fPIC -O2 -std=c++17 -DNAPI_DISABLE_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION \
  -I "$p11/includes" -I /usr/include/node "$p11"/src/{dl,common,main}.cpp -o "$tree/$p11/build/Release/pkcs11.node" -ldl
commit=${ATO_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
(cd "$tree" && bun build src/main.ts src/metrics/worker.ts src/verify/hash-worker.ts --compile --target=bun-linux-arm64 --outfile "$OLDPWD/dist/ato-arm64" \
  --define "ATO_COMMIT=\"$commit\"" >/dev/null 2>"$OLDPWD/build/arm64-bun.log") || { cat build/arm64-bun.log >&2; exit 1; }
mkdir -p dist/lib-arm64 && cp "$tree"/dist/lib/* dist/lib-arm64/
rm -rf "$tree"
echo "build-arm64: dist/ato-arm64 ($(file -b dist/ato-arm64 | cut -d, -f1-2)), dist/lib-arm64/: $(ls dist/lib-arm64 | tr '\n' ' ')"
