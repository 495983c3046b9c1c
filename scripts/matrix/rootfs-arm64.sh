#!/usr/bin/env bash
# The arm64 guest's root disk, made without running any arm64 code on this host: Debian's
# bookworm arm64 packages that the test needs (the runtime libraries the README lists — libc6,
# libelf1, zlib1g — SoftHSM2, and the tools the test drives: bash, coreutils, util-linux,
# iproute2, iputils-ping, grep, sed, mawk) with their dependencies as apt resolves them, unpacked
# (dpkg-deb, no maintainer scripts) onto a merged-/usr tree, then the few files their scripts
# would have written. As on x86, Debian's libbpf1 (iproute2's) is moved off the library path.
#
#   bash scripts/matrix/rootfs-arm64.sh OUT.img
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
CACHE=${ATO_MATRIX_CACHE:-/var/cache/ato-matrix}
MIRROR=${MATRIX_MIRROR:-http://deb.debian.org/debian}
# shellcheck source=apt-arm64.sh
source scripts/matrix/apt-arm64.sh
PACKAGES=(libc6 libelf1 zlib1g softhsm2 bash coreutils util-linux mount iproute2 iputils-ping grep sed mawk dash libc-bin)

work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-rootfs-arm64-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$CACHE/debs-arm64/closure"
apt-get "${A[@]}" -o "Dir::Cache::archives=$CACHE/debs-arm64/closure" -o APT::Install-Recommends=false \
  install --download-only -y -qq "${PACKAGES[@]}" >"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log" >&2; exit 1; }
R=$work/root
mkdir -p "$R"/usr/{bin,sbin,lib}
for d in bin sbin lib; do ln -s "usr/$d" "$R/$d"; done
for deb in "$CACHE"/debs-arm64/closure/*.deb; do
  dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$R"
done
[ -e "$R/bin/sh" ] || ln -s dash "$R/usr/bin/sh"
[ -e "$R/usr/bin/awk" ] || ln -s mawk "$R/usr/bin/awk"
mkdir -p "$R"/{proc,sys,dev,tmp,run,root,matrix,var/log,var/lib/softhsm/tokens,opt/matrix-tools/lib,etc}
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\n' >"$R/etc/softhsm2.conf"
mv "$R"/usr/lib/aarch64-linux-gnu/libbpf.so.* "$R/opt/matrix-tools/lib/"
rm -rf "$R"/usr/share/doc "$R"/usr/share/man "$R"/usr/share/locale
mkfs.ext4 -q -F -L ato-root-arm64 -O ^orphan_file,^metadata_csum_seed -d "$R" "$OUT.$$.tmp" 512M
mv "$OUT.$$.tmp" "$OUT"
echo "rootfs-arm64.sh: $OUT ($(du -sh "$R" | cut -f1) of files, $(ls "$CACHE"/debs-arm64/closure/*.deb | wc -l) packages)"
