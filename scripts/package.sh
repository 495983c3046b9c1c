#!/usr/bin/env bash
# Builds a Debian package of the compiled binary and its systemd unit, with Debian's dpkg-deb:
#
#   bash scripts/package.sh [--no-build] [--out DIR]    # writes DIR/ato_<version>_<arch>.deb (DIR: dist)
#
# The package holds /usr/lib/ato/ato (everything embedded: the XDP objects, libbpf, the masking
# routines), /usr/bin/ato (deploy/launcher.sh: a POSIX sh launcher that refuses a CPU below
# x86-64-v2 in one line, exit 69, where the binary would die of SIGILL, and else execs it),
# /lib/systemd/system/ato.service (deploy/systemd), /etc/ato/ato.env (a conffile) and the docs.
# Installing it creates the system user ato, /var/log/ato and /etc/ato, and adds ato to SoftHSM's
# group when SoftHSM is installed (its token directory is root:softhsm 2770).
# It neither enables nor starts the service: that needs an interface and a PIN first
# (docs/OPERATIONS.md, "Running as a service").
set -euo pipefail
cd "$(dirname "$0")/.."
build=1 out=dist
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    *) echo "usage: scripts/package.sh [--no-build] [--out DIR]" >&2; exit 64 ;;
  esac
  shift
done
[ "$build" -eq 0 ] || bash scripts/build.sh
[ -x dist/ato ] || { echo "scripts/package.sh: dist/ato is missing; run bash scripts/build.sh" >&2; exit 1; }

version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' package.json | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/ato-package-XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/ato_${version}_${arch}"

install -D -m 0755 dist/ato "$root/usr/lib/ato/ato"
install -D -m 0755 deploy/launcher.sh "$root/usr/bin/ato"
install -D -m 0644 deploy/systemd/ato.service "$root/lib/systemd/system/ato.service"
install -d -m 0755 "$root/usr/share/doc/ato"
for f in README.md docs/ARCHITECTURE.md docs/OPERATIONS.md docs/CONFIGURATION.md src/evidence/FORMAT.md; do
  [ -f "$f" ] && install -m 0644 "$f" "$root/usr/share/doc/ato/"
done
install -D -m 0640 /dev/stdin "$root/etc/ato/ato.env" <<'ENV'
# ato run's configuration for the systemd unit: KEY=VALUE, the names `ato run --help` lists.
# The PIN does not go here: put it, one line, in /etc/ato/pkcs11-pin (root, 0600).
#XDP_INTERFACE=eth0
#XDP_MODE=auto
#PKCS11_MODULE_PATH=/usr/lib/softhsm/libsofthsm2.so
#HSM_TOKEN_LABEL=ato-token
#HSM_KEY_LABEL=ato-ed25519
#ATO_LISTEN=127.0.0.1:9400
ENV

mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: ato
Version: $version
Architecture: $arch
Maintainer: ato maintainers <ato@localhost>
Section: net
Priority: optional
Depends: libc6, libelf1, zlib1g, e2fsprogs, passwd
Recommends: softhsm2
Installed-Size: $(du -sk "$root" | cut -f1)
Description: the Auditable Trust Object: XDP flow evidence, signed and verifiable offline
 ato watches a host's traffic from an XDP program, keeps per-CPU flow counts in BPF maps,
 masks addresses, signs evidence through a PKCS#11 HSM and writes an append-only log
 (RFC 9162 Merkle tree, signed-note checkpoints) that anyone can verify offline with
 ato verify. The systemd unit runs it as the unprivileged user ato with CAP_BPF,
 CAP_PERFMON, CAP_NET_ADMIN and CAP_LINUX_IMMUTABLE only.
CONTROL
echo /etc/ato/ato.env >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent group ato >/dev/null || groupadd --system ato
  getent passwd ato >/dev/null || useradd --system --gid ato --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ato
  # SoftHSM's tokens are root:softhsm 2770: the agent reads and locks them as a member.
  if getent group softhsm >/dev/null; then usermod -a -G softhsm ato; fi
  install -d -o ato -g ato -m 0750 /var/log/ato
  install -d -o root -g ato -m 0750 /etc/ato
  chgrp ato /etc/ato/ato.env
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    # An upgrade: the running agent ends with a signed checkpoint and the new one continues the log.
    [ -z "$2" ] || systemctl try-restart ato.service
  fi
fi
exit 0
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
# On removal (not on upgrade) the agent is stopped: SIGTERM signs its final checkpoint.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then systemctl stop ato.service || true; fi
exit 0
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
# The evidence in /var/log/ato is never removed, not even on purge: it is append-only and may be
# all that proves what happened. Removing it is the operator's decision (chattr -R -a first).
if [ "$1" = purge ] || [ "$1" = remove ]; then
  [ ! -d /run/systemd/system ] || systemctl daemon-reload || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/ato_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "package: $deb"
