#!/usr/bin/env bash
# Installs everything ato needs to build, test and demo on a fresh Debian 12 / Ubuntu machine
# where the user is root: Debian packages, Bun from npm, the project's npm dependencies and the
# pkcs11js native addon. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build: BPF object, NASM routine, native addon
  clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool nasm make g++ python3 pkg-config
  # kernel and lab
  iproute2 iputils-ping ethtool tcpdump tshark netsniff-ng python3-scapy ncat e2fsprogs
  # HSM and outside verifiers; strace watches the log's write/fdatasync order (test/log/sync-order.test.ts)
  softhsm2 opensc openssl strace
  # node (npm brings Bun), headers for the pkcs11js addon
  nodejs npm
  # test peers and services
  prometheus wrk mariadb-server mariadb-client nginx-light curl debootstrap docker.io docker-compose
  # flow-monitor peers for scripts/bench-peers.ts (libpcap; NetFlow collector)
  softflowd pmacct nfdump
  # scripts/bench-kernel.ts builds netobserv-ebpf-agent's flow program, which needs clang >= 15
  clang-19
  # the systemd unit and the .deb (test/deploy): systemd-analyze verify; dpkg-deb and setpriv are essential
  systemd
  # kernel matrix (scripts/kernel-matrix.sh): Debian's kernels under QEMU, their initramfs;
  # the arm64 build (scripts/matrix/build-arm64.sh) and its user-mode run
  qemu-system-x86 kmod cpio zstd binutils-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static qemu-system-arm
  # forwarder sinks started by test/forward (NATS JetStream cluster, rsyslog over TLS and RELP, ClickHouse)
  nats-server rsyslog rsyslog-gnutls rsyslog-openssl rsyslog-relp clickhouse-server clickhouse-client
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node may come from elsewhere (nodesource); then Debian's nodejs/npm are not needed.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian ships services enabled; ato's tests start their own instances, on their own ports.
for svc in prometheus mariadb nginx softflowd nfdump rsyslog nats-server clickhouse-server; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

if ! command -v bun >/dev/null; then
  echo "bootstrap: installing bun from npm"
  npm install -g bun >/dev/null 2>&1
fi

bun install --frozen-lockfile --ignore-scripts >/dev/null 2>&1 || bun install --ignore-scripts >/dev/null

# pkcs11js is a native addon. Bun's own node-gyp shim fetches the newest node-gyp, which does
# not run on Debian's Node 18/20; the pinned node-gyp in devDependencies does.
addon=node_modules/pkcs11js/build/Release/pkcs11.node
if [ ! -f "$addon" ]; then
  echo "bootstrap: building the pkcs11js addon"
  nodedir=/usr
  [ -f "$nodedir/include/node/node_api.h" ] || { echo "bootstrap: Node headers missing under /usr/include/node (install libnode-dev)" >&2; exit 1; }
  (cd node_modules/pkcs11js && PATH="$PWD/../.bin:$PATH" node-gyp rebuild --nodedir="$nodedir" >/tmp/ato-node-gyp.log 2>&1) \
    || { echo "bootstrap: building pkcs11js failed, see /tmp/ato-node-gyp.log" >&2; exit 1; }
fi

# bpffs: where pinned maps live.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "bootstrap: ready"
