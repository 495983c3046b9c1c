#!/usr/bin/env bash
# The matrix's arm64 leg: Debian bookworm's arm64 kernel under qemu-system-aarch64 (TCG, "virt"
# machine, -cpu neoverse-n1: see CPU below), dist/ato-arm64 end to end inside with the same guest steps as the x86
# matrix (scripts/matrix/guest.sh). One PASS/FAIL line per step; exit 1 when any fails. It is
# slow (every instruction emulated, Bun's JIT included), so it is a release check rather than a
# suite test:
#
#   bash scripts/matrix/build-arm64.sh && bash scripts/matrix/arm64-vm.sh [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${ATO_MATRIX_CACHE:-/var/cache/ato-matrix}
MIRROR=${MATRIX_MIRROR:-http://deb.debian.org/debian}
keep=$CACHE/failed
[ "${1:-}" = --keep ] && keep=$2
[ -x dist/ato-arm64 ] || { echo "arm64-vm: dist/ato-arm64 not found (bash scripts/matrix/build-arm64.sh)" >&2; exit 1; }
command -v qemu-system-aarch64 >/dev/null || { echo "arm64-vm: qemu-system-aarch64 not found (apt-get install qemu-system-arm)" >&2; exit 1; }
# shellcheck source=apt-arm64.sh
source scripts/matrix/apt-arm64.sh
t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-arm64-XXXXXX")
trap 'rm -rf "$work"' EXIT

root_img="$CACHE/root-arm64-$(sha256sum scripts/matrix/rootfs-arm64.sh | cut -c1-12).img"
if [ ! -f "$root_img" ]; then
  find "$CACHE" -maxdepth 1 -name 'root-arm64-*.img' -delete # an earlier recipe's
  bash scripts/matrix/rootfs-arm64.sh "$root_img" >/dev/null
fi
meta=$(apt-cache "${A[@]}" show linux-image-arm64 | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
deb=$(arm64_deb "$meta")
kdir="$CACHE/kernels/$(basename "$deb" .deb)-$(cat scripts/matrix/kernel.sh scripts/matrix/initramfs-init.sh | sha256sum | cut -c1-8)"
if [ ! -f "$kdir/initrd.img" ]; then
  rm -rf "$CACHE/kernels/$(basename "$deb" .deb)-"*
  bash scripts/matrix/kernel.sh "$deb" "$(arm64_deb busybox-static)" "$kdir" >/dev/null
fi
mkdir -p "$work/payload"
cp dist/ato-arm64 "$work/payload/ato"
cp scripts/matrix/guest.sh "$work/payload/guest.sh"
cp deploy/launcher.sh "$work/payload/launcher.sh"
mkfs.ext4 -q -F -O ^orphan_file,^metadata_csum_seed -d "$work/payload" "$work/payload.img" \
  "$(( $(du -sm "$work/payload" | cut -f1) + 64 ))M" >/dev/null
t1=$(date +%s)
console=$work/arm64.console
rc=0
# Neoverse N1, the core of common arm64 servers (Graviton2, Ampere Altra), not "-cpu max": with max,
# TCG also emulates SVE, pointer authentication and MTE, and Bun 1.4.5's runtime failed at random
# there at every SIGTERM (a segfault or trap in its main thread, or a JIT-made TypeError), with
# today's binary and with the one that passed before alike; with neoverse-n1 every step passes, in
# half the time. ATO_ARM64_CPU=max brings the old model back.
CPU=${ATO_ARM64_CPU:-neoverse-n1}
MATRIX_ARCH=arm64 bash scripts/matrix/boot.sh "$kdir" "$root_img" "$work/payload.img" tcg "$CPU" 1500 "$console" \
  "matrix.name=arm64" >"$work/qemu.out" 2>&1 || rc=$?
t2=$(date +%s)
name="6.1-arm64"
echo "== $name: kernel $(cat "$kdir/release") ($meta), qemu-system-aarch64 virt, cpu $CPU, tcg: prepare $((t1 - t0)) s, boot and run $((t2 - t1)) s"
sed -n 's/^MATRIX INFO /  info: /p' "$console" | tr -d '\r'
grep -aoE '^MATRIX (PASS|FAIL) .*' "$console" | tr -d '\r' | sed "s/^MATRIX \(PASS\|FAIL\) /$name: \1 /"
if grep -aq '^MATRIX DONE failed=0' "$console"; then echo "arm64: PASS"; exit 0; fi
mkdir -p "$keep" && cp "$console" "$keep/$name.console"
echo "$name: FAIL (qemu exit $rc), console kept in $keep/$name.console"
exit 1
