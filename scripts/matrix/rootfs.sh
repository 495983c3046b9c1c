#!/usr/bin/env bash
# The guest's root disk: a copy of the cached minbase bookworm root that the bare-host and .deb
# tests use too (scripts/rootfs-cache.sh: debootstrap once; only the runtime libraries the README
# lists — libc6, libelf1, zlib1g — SoftHSM2 as the guest's HSM, and the tools the test itself
# drives, iproute2 for the veth pair and namespace and iputils-ping for traffic; iproute2's libbpf1
# is off the library path in /opt/matrix-tools/lib, where only `ip` is told to look, so ato can
# load nothing but its embedded libbpf). Packed with mkfs.ext4 -d (no loop mount).
#
#   bash scripts/matrix/rootfs.sh OUT.img [MIRROR]
set -euo pipefail
OUT=$1
export ATO_ROOTFS_MIRROR=${2:-${ATO_ROOTFS_MIRROR:-http://deb.debian.org/debian}}

work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-rootfs-XXXXXX")
trap 'rm -rf "$work"' EXIT
R="$work/root"
bash "$(dirname "$0")/../rootfs-cache.sh" "$R"
mkdir -p "$R/matrix" "$R/var/lib/softhsm/tokens"
printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\n' >"$R/etc/softhsm2.conf"
rm -rf "$R"/usr/share/doc "$R"/usr/share/man "$R"/usr/share/locale

# Features every kernel of the matrix mounts: 5.10 predates orphan_file and metadata_csum_seed.
mkfs.ext4 -q -F -L ato-root -O ^orphan_file,^metadata_csum_seed -d "$R" "$OUT.$$.tmp" 768M
mv "$OUT.$$.tmp" "$OUT"
echo "rootfs.sh: $OUT ($(du -sh "$R" | cut -f1) of files)"
