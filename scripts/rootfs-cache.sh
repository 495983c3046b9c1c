#!/usr/bin/env bash
# A bare Debian root for the tests of what a host without the build tools gets, made from one
# cached root shared by the .deb test (test/deploy/package.test.ts), the bare-host test
# (test/agent/bare-host.test.ts) and the kernel matrix's root image (scripts/matrix/rootfs.sh):
#
#   bash scripts/rootfs-cache.sh DEST     # DEST (new or empty) becomes a copy of the cached root
#
# The root: debootstrap minbase bookworm with only the runtime libraries the README lists
# (libc6, libelf1, zlib1g), SoftHSM2 as the host's HSM, and the tools the matrix's guest drives
# (iproute2, iputils-ping). iproute2 pulls in Debian's libbpf1: it is moved off the library path
# into /opt/matrix-tools/lib (only the matrix's `ip` is told to look there), so ato can load
# nothing but its embedded libbpf. debootstrap runs once per key (suite, architecture, package
# list, mirror and this recipe) and the installed root is kept as a tarball under
# $ATO_ROOTFS_CACHE (default /var/cache/ato-rootfs); each caller unpacks its own copy, which it
# owns and removes. Tarballs of other keys are deleted, so the cache holds one. Needs root.
set -euo pipefail
DEST=${1:?usage: scripts/rootfs-cache.sh DEST}
SUITE=bookworm
ARCH=$(dpkg --print-architecture)
PACKAGES=libelf1,zlib1g,softhsm2,iproute2,iputils-ping
MIRROR=${ATO_ROOTFS_MIRROR:-http://deb.debian.org/debian}
CACHE=${ATO_ROOTFS_CACHE:-/var/cache/ato-rootfs}
key=$({ printf '%s\n' "$SUITE" "$ARCH" "$PACKAGES" "$MIRROR"; cat "$0"; } | sha256sum | cut -c1-12)
tarball="$CACHE/minbase-$SUITE-$ARCH-$key.tar.zst"

mkdir -p "$CACHE"
# One maker at a time: two tests started together wait for the same tarball instead of racing.
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$tarball" ]; then
  work=$(mktemp -d "$CACHE/make-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  R="$work/root"
  debootstrap --variant=minbase --arch="$ARCH" --include="$PACKAGES" "$SUITE" "$R" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; echo "rootfs-cache.sh: debootstrap failed" >&2; exit 1; }
  mkdir -p "$R/opt/matrix-tools/lib"
  mv "$R"/usr/lib/*-linux-gnu/libbpf.so.* "$R/opt/matrix-tools/lib/"
  chroot "$R" ldconfig
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*
  tar --numeric-owner --xattrs -C "$R" -I 'zstd -1 -T0' -cf "$work/root.tar.zst" .
  mv "$work/root.tar.zst" "$tarball"
  find "$CACHE" -maxdepth 1 -name 'minbase-*.tar.zst' ! -name "$(basename "$tarball")" -delete
  rm -rf "$work"
  trap - EXIT
fi
flock -u 9
mkdir -p "$DEST"
tar --numeric-owner --xattrs -C "$DEST" -I zstd -xpf "$tarball"
