#!/usr/bin/env bash
# The guest's root disk: a debootstrap minbase bookworm (as test/agent/bare-host.test.ts makes
# its bare host) with only the runtime libraries the README lists — libc6, libelf1, zlib1g — and
# SoftHSM2 as the guest's HSM, plus the tools the test itself drives (iproute2 for the veth pair
# and namespace, iputils-ping for traffic). iproute2 pulls in Debian's libbpf1; it is moved off
# the library path into /opt/matrix-tools/lib, where only `ip` is told to look, so ato can load
# nothing but its embedded libbpf. Packed with mkfs.ext4 -d (no loop mount).
#
#   bash scripts/matrix/rootfs.sh OUT.img [MIRROR]
set -euo pipefail
OUT=$1 MIRROR=${2:-http://deb.debian.org/debian}
PACKAGES=libelf1,zlib1g,softhsm2,iproute2,iputils-ping

work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-rootfs-XXXXXX")
trap 'rm -rf "$work"' EXIT
R="$work/root"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$R" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; echo "rootfs.sh: debootstrap failed" >&2; exit 1; }

mkdir -p "$R/opt/matrix-tools/lib"
mv "$R"/usr/lib/x86_64-linux-gnu/libbpf.so.* "$R/opt/matrix-tools/lib/"
chroot "$R" ldconfig
mkdir -p "$R/matrix" "$R/var/lib/softhsm/tokens"
printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\n' >"$R/etc/softhsm2.conf"
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc "$R"/usr/share/man "$R"/usr/share/locale

# Features every kernel of the matrix mounts: 5.10 predates orphan_file and metadata_csum_seed.
mkfs.ext4 -q -F -L ato-root -O ^orphan_file,^metadata_csum_seed -d "$R" "$OUT.$$.tmp" 768M
mv "$OUT.$$.tmp" "$OUT"
echo "rootfs.sh: $OUT ($(du -sh "$R" | cut -f1) of files)"
