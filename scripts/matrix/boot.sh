#!/usr/bin/env bash
# Boots one kernel of the matrix under QEMU and waits for it to power off (or for TIMEOUT):
# the serial console goes to CONSOLE, both disks are snapshots (the images stay as they were).
#
#   bash scripts/matrix/boot.sh KERNEL_DIR ROOT_IMG PAYLOAD_IMG ACCEL CPU TIMEOUT CONSOLE [APPEND…]
# MATRIX_ARCH=arm64 boots qemu-system-aarch64's "virt" machine instead of a PC.
set -euo pipefail
K=$1 ROOT=$2 PAYLOAD=$3 ACCEL=$4 CPU=$5 TIMEOUT=$6 CONSOLE=$7
shift 7
if [ "${MATRIX_ARCH:-x86_64}" = arm64 ]; then
  machine=(qemu-system-aarch64 -M virt) tty=ttyAMA0
else
  machine=(qemu-system-x86_64) tty=ttyS0
fi
exec timeout --kill-after=5 "$TIMEOUT" "${machine[@]}" \
  -accel "$ACCEL" -cpu "$CPU" -smp 2 -m 1536 \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial "file:$CONSOLE" \
  -kernel "$K/vmlinuz" -initrd "$K/initrd.img" \
  -append "console=$tty panic=-1 loglevel=4 $*" \
  -drive "file=$ROOT,format=raw,if=virtio,snapshot=on" \
  -drive "file=$PAYLOAD,format=raw,if=virtio,snapshot=on"
