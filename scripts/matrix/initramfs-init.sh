#!/bin/busybox sh
# /init of the matrix's initramfs: load the kernel's own modules that the disks and the test need,
# mount the root image (/dev/vda) and the payload (/dev/vdb: ato and the test) on it, and hand
# over to the payload's guest.sh. Both disks are QEMU snapshots, so nothing written reaches the
# images. A failure is said on the console and the machine powers off: the host never waits for
# nothing. A module that does not fit this CPU (crc32c-intel without SSE4.2) may fail to load;
# the mounts below say whether anything needed was missing.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
die() { echo "MATRIX FAIL boot: $*"; echo "MATRIX DONE failed=1"; $bb poweroff -f; }
loaded=""
for m in $($bb cat /modules/order); do
  $bb insmod "/modules/$m" 2>/dev/null && loaded="$loaded ${m%.ko}"
done
echo "MATRIX INFO modules loaded:$loaded"
if $bb grep -q 'matrix.probe' /proc/cmdline; then echo "MATRIX PROBE OK"; $bb poweroff -f; fi
for _ in $($bb seq 100); do [ -b /dev/vdb ] && break; $bb sleep 0.1; done
$bb mount -t ext4 /dev/vda /newroot || die "mount root /dev/vda"
$bb mount -t ext4 /dev/vdb /newroot/matrix || die "mount payload /dev/vdb"
$bb umount /proc /sys
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /bin/bash /matrix/guest.sh
