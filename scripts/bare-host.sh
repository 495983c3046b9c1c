#!/usr/bin/env bash
# Runs the compiled dist/ato on a bare Debian root filesystem (debootstrap minbase plus only the
# runtime libraries the README lists, and the SoftHSM module as the host's HSM): `ato version`,
# `ato hsm init`, `ato run` on a lab interface with real traffic, then `ato verify` — all inside
# the chroot, which has no Bun, no node_modules and no libbpf.
#
#   bash scripts/bare-host.sh ROOTFS SERVER_NS SERVER_DEV CLIENT_NS SERVER_IP PIN_DIR
#
# Run it under `unshare --mount --propagation private`: every mount it makes then disappears
# with it, whatever happens.
set -euo pipefail
R=$1 SERVER_NS=$2 SERVER_DEV=$3 CLIENT_NS=$4 SERVER_IP=$5 PIN_DIR=$6
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --bind /sys/fs/bpf "$R/sys/fs/bpf"
mount --bind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/tmp"
mkdir -p "$R/run" && mount -t tmpfs tmpfs "$R/run"
in_root() { chroot "$R" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "$@"; }

echo "== what the host has"
for f in usr/lib/x86_64-linux-gnu/libbpf.so.1 usr/local/bin/bun usr/bin/bun usr/bin/node; do
  [ -e "$R/$f" ] && { echo "unexpected on a bare host: /$f"; exit 1; }
done
echo "no libbpf, no bun, no node"

echo "== ato version"
in_root ato version

echo "== ato hsm init"
mkdir -p "$R/var/lib/softhsm/tokens"
printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\n' > "$R/etc/softhsm2.conf"
PIN=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
SO=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
in_root PKCS11_PIN="$PIN" PKCS11_SO_PIN="$SO" SOFTHSM2_CONF=/etc/softhsm2.conf ato hsm init --out /root/public.pem

echo "== ato run on $SERVER_DEV"
nsenter --net="/run/netns/$SERVER_NS" chroot "$R" env -i PATH=/usr/local/bin:/usr/bin:/bin PKCS11_PIN="$PIN" SOFTHSM2_CONF=/etc/softhsm2.conf \
  ato run --iface "$SERVER_DEV" --pin-dir "$PIN_DIR" --audit-dir /var/log/audit --interval-ms 200 --checkpoint-seconds 1 &
AGENT=$!
for _ in $(seq 100); do [ -e "$PIN_DIR/flow_map" ] && break; sleep 0.1; done
sleep 0.5
ip netns exec "$CLIENT_NS" ping -c 5 -i 0.1 -q "$SERVER_IP"
sleep 1
kill -TERM "$AGENT"
wait "$AGENT"

echo "== ato verify"
in_root ato verify /var/log/audit --pubkey /root/public.pem
grep -c '"kind":"flow"' "$R/var/log/audit/signed_evidence.log"
