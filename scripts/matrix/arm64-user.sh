#!/usr/bin/env bash
# Runs dist/ato-arm64 under qemu-aarch64-static (user-mode emulation, no binfmt registration
# needed) on an arm64 sysroot of Debian's libc6, libelf1, zlib1g and libgcc-s1 (dpkg -x, cached):
# what libbpf and Bun's runtime need. With BUN_BE_BUN=1 the binary is Bun itself, so the
# project's own tests run on the arm64 runtime and the arm64 libraries (ATO_LIB_DIR):
#
#   bash scripts/matrix/arm64-user.sh version
#   BUN_BE_BUN=1 ATO_LIB_DIR=$PWD/dist/lib-arm64 bash scripts/matrix/arm64-user.sh test test/mask/parity.test.ts
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ATO_MATRIX_CACHE:-/var/cache/ato-matrix}
MIRROR=${MATRIX_MIRROR:-http://deb.debian.org/debian}
command -v qemu-aarch64-static >/dev/null || { echo "arm64-user: qemu-aarch64-static not found (apt-get install qemu-user-static)" >&2; exit 1; }
[ -x "$repo/dist/ato-arm64" ] || { echo "arm64-user: dist/ato-arm64 not found (bash scripts/matrix/build-arm64.sh)" >&2; exit 1; }
sysroot=$CACHE/arm64-sysroot
if [ ! -e "$sysroot/.done" ]; then
  # shellcheck source=apt-arm64.sh
  (cd "$repo" && source scripts/matrix/apt-arm64.sh && rm -rf "$sysroot.new" && mkdir -p "$sysroot.new" \
    && for p in libc6 libelf1 zlib1g libgcc-s1; do dpkg-deb -x "$(arm64_deb "$p")" "$sysroot.new"; done \
    && touch "$sysroot.new/.done" && rm -rf "$sysroot" && mv "$sysroot.new" "$sysroot")
fi
exec qemu-aarch64-static -L "$sysroot" "$repo/dist/ato-arm64" "$@"
