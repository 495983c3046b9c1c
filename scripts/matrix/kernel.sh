#!/usr/bin/env bash
# Turns one Debian kernel package into what QEMU boots: OUT/vmlinuz and OUT/initrd.img, a small
# initramfs holding a static busybox, the kernel's own modules that the guest needs (virtio disk,
# ext4, veth, with their dependencies as modprobe resolves them from the package's modules) and
# scripts/matrix/initramfs-init.sh as /init. OUT/release names the kernel.
#
#   bash scripts/matrix/kernel.sh KERNEL.deb BUSYBOX_STATIC.deb OUT
set -euo pipefail
DEB=$1 BUSYBOX_DEB=$2 OUT=$3
here=$(cd "$(dirname "$0")" && pwd)
# What the guest loads, in this order (each with its dependencies); a name built into a kernel
# is skipped. crc32c: ext4 asks the crypto API for it when it mounts a metadata_csum file system.
WANT=(virtio_pci virtio_blk crc32c_generic ext4 veth)

work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-kernel-XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$DEB" "$work/pkg"
moddir=$(find "$work/pkg" -maxdepth 3 -type d -path '*/lib/modules' | head -1)
[ -n "$moddir" ] || { echo "kernel.sh: no lib/modules in $DEB" >&2; exit 1; }
release=$(ls "$moddir")
vmlinuz=$(ls "$work/pkg"/boot/vmlinuz-* | head -1)
# modprobe -d wants ROOT/lib/modules; merged-/usr packages (trixie on) ship usr/lib/modules.
mkdir -p "$work/root/lib"
ln -s "$moddir" "$work/root/lib/modules"
depmod -b "$work/root" "$release"

init="$work/initramfs"
mkdir -p "$init"/{bin,dev,proc,sys,newroot,modules}
dpkg-deb -x "$BUSYBOX_DEB" "$work/busybox"
install -m 755 "$(find "$work/busybox" -name busybox -type f -perm -u+x | head -1)" "$init/bin/busybox"
: >"$init/modules/order"
for m in "${WANT[@]}"; do
  modprobe -d "$work/root" -S "$release" --show-depends "$m" 2>/dev/null | while read -r kind path _; do
    [ "$kind" = insmod ] || continue # "builtin NAME": nothing to load
    name=$(basename "$path"); name=${name%.xz}; name=${name%.zst}
    grep -qx "$name" "$init/modules/order" && continue
    case $path in
      *.xz) xz -dc "$path" >"$init/modules/$name" ;;
      *.zst) zstd -qdc "$path" >"$init/modules/$name" ;;
      *) cp "$path" "$init/modules/$name" ;;
    esac
    echo "$name" >>"$init/modules/order"
  done
done
cp "$here/initramfs-init.sh" "$init/init"
chmod 755 "$init/init"
mkdir -p "$OUT"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.img.$$.tmp"
cp "$vmlinuz" "$OUT/vmlinuz"
echo "$release" >"$OUT/release"
mv "$OUT/initrd.img.$$.tmp" "$OUT/initrd.img"
echo "kernel.sh: $release, modules: $(tr '\n' ' ' <"$init/modules/order")"
