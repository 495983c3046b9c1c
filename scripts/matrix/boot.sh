#!/usr/bin/env bash
# Boots one kernel of the matrix under QEMU and waits for it to power off (or for TIMEOUT):
# the serial console goes to CONSOLE, both disks are snapshots (the images stay as they were).
#
#   bash scripts/matrix/boot.sh KERNEL_DIR ROOT_IMG PAYLOAD_IMG ACCEL CPU TIMEOUT CONSOLE [APPEND…]
set -euo pipefail
K=$1 ROOT=$2 PAYLOAD=$3 ACCEL=$4 CPU=$5 TIMEOUT=$6 CONSOLE=$7
shift 7
exec timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 \
  -accel "$ACCEL" -cpu "$CPU" -smp 2 -m 1536 \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial "file:$CONSOLE" \
  -kernel "$K/vmlinuz" -initrd "$K/initrd.img" \
  -append "console=ttyS0 panic=-1 loglevel=4 $*" \
  -drive "file=$ROOT,format=raw,if=virtio,snapshot=on" \
  -drive "file=$PAYLOAD,format=raw,if=virtio,snapshot=on"
