#!/usr/bin/env bash
# The kernel and CPU matrix: boots Debian's own kernels under QEMU and runs dist/ato end to end
# inside each (scripts/matrix/guest.sh: mounts, version, doctor, a veth pair into a namespace,
# hsm init on SoftHSM, ato run in native and generic XDP with ping and UDP traffic counted by
# `ato flows --json` against the generators' counts, SIGTERM, ato verify). One PASS/FAIL line
# per step and kernel; a failed kernel's whole console is kept. Exit 1 when anything failed.
#
#   bash scripts/kernel-matrix.sh [--only NAME,NAME] [--binary PATH] [--cache DIR] [--keep DIR] [--list]
#
# --binary names the x86-64 binary under test (default dist/ato). ATO_MATRIX_ACCEL=tcg|kvm skips
# the accelerator probe.
#
# Needs root (debootstrap), qemu-system-x86, debootstrap, kmod, cpio, e2fsprogs and Debian's
# mirror. Downloads, kernels and the root image are cached under --cache (default
# /var/cache/ato-matrix, or $ATO_MATRIX_CACHE): a rerun only boots. KVM is used when it can
# boot a kernel here, TCG otherwise; the script says which.
set -euo pipefail
cd "$(dirname "$0")/.."

# name | suites to look in, first that has it | metapackage | QEMU CPU model | expected
# "max" is every feature QEMU has (AVX2 included); Nehalem has SSE4.2 and POPCNT but no AVX, so
# the masking routine must take its SSE2 path; qemu64 (and kvm64) has neither SSE4.1, SSE4.2 nor
# POPCNT (x86-64-v1), which no build of Bun runs on: the default and the baseline runtime alike
# stop with SIGILL (scripts/bench-baseline.ts, README "Kernels and CPUs proven"), so there the
# guest proves that the launcher (deploy/launcher.sh, /usr/bin/ato of the .deb) refuses in one
# line naming the missing flags, exit 69. 5.10 runs xdp_audit_compat.o (its verifier refuses the
# global parse_l4's pointer arguments, which need 5.12); the guest checks which object each kernel
# runs. "known-fail" runs and reports a kernel that does not work yet without failing the matrix,
# and fails it once the kernel passes (so the entry is moved to "pass"); no entry is one now.
MATRIX=(
  "6.1|bookworm-security bookworm|linux-image-amd64|max|pass"
  "6.1-cloud|bookworm-security bookworm|linux-image-cloud-amd64|max|pass"
  "6.12|trixie|linux-image-amd64|max|pass"
  "6.1-nehalem|bookworm-security bookworm|linux-image-amd64|Nehalem|pass"
  "5.10|bullseye-security bullseye|linux-image-amd64|max|pass"
  "6.1-qemu64|bookworm-security bookworm|linux-image-amd64|qemu64|pass"
)

only="" binary=dist/ato keep="" list=0
MATRIX_CACHE=${ATO_MATRIX_CACHE:-/var/cache/ato-matrix}
while [ $# -gt 0 ]; do
  case $1 in
    --only) only=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --cache) MATRIX_CACHE=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --list) list=1; shift ;;
    *) echo "kernel-matrix: unknown argument $1 (see the header of $0)" >&2; exit 64 ;;
  esac
done
export MATRIX_CACHE
# shellcheck source=matrix/apt.sh
source scripts/matrix/apt.sh

if [ "$list" = 1 ]; then printf '%s\n' "${MATRIX[@]}" | cut -d'|' -f1; exit 0; fi
for tool in qemu-system-x86_64 debootstrap depmod modprobe cpio mkfs.ext4 dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "kernel-matrix: $tool not found (bash scripts/bootstrap.sh installs it)" >&2; exit 1; }
done
[ -x "$binary" ] || { echo "kernel-matrix: $binary not found (bash scripts/build.sh)" >&2; exit 1; }
t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/ato-matrix-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$MATRIX_CACHE/kernels"
keep=${keep:-$MATRIX_CACHE/failed}

matrix_apt_update
busybox=$(matrix_download "busybox-static/bookworm")

# The root image, rebuilt when its recipe changes.
root_img="$MATRIX_CACHE/root-$(cat scripts/matrix/rootfs.sh scripts/rootfs-cache.sh | sha256sum | cut -c1-12).img"
if [ ! -f "$root_img" ]; then
  t=$(date +%s)
  bash scripts/matrix/rootfs.sh "$root_img" "$MATRIX_MIRROR" >/dev/null
  echo "root image: built in $(($(date +%s) - t)) s ($root_img)"
  # Images of earlier recipes are never used again.
  find "$MATRIX_CACHE" -maxdepth 1 -name 'root-????????????.img' ! -name "$(basename "$root_img")" -delete
fi

# The payload disk: the binary under test and the guest's script.
mkdir -p "$work/payload"
cp "$binary" "$work/payload/ato"
cp scripts/matrix/guest.sh "$work/payload/guest.sh"
cp deploy/launcher.sh "$work/payload/launcher.sh"
mkfs.ext4 -q -F -O ^orphan_file,^metadata_csum_seed -d "$work/payload" "$work/payload.img" \
  "$(( $(du -sm "$work/payload" | cut -f1) + 64 ))M" >/dev/null

# kernel_dir DEB: vmlinuz and initramfs made from the package once.
kernel_dir() {
  local d
  d="$MATRIX_CACHE/kernels/$(basename "$1" .deb)-$(cat scripts/matrix/kernel.sh scripts/matrix/initramfs-init.sh | sha256sum | cut -c1-8)"
  if [ ! -f "$d/initrd.img" ]; then
    rm -rf "$MATRIX_CACHE/kernels/$(basename "$1" .deb)-"* # made by an earlier kernel.sh
    bash scripts/matrix/kernel.sh "$1" "$busybox" "$d" >/dev/null
  fi
  echo "$d"
}

# The accelerator: KVM only if it boots a kernel to the initramfs here (a nested KVM may offer
# /dev/kvm and still fail a stock kernel, "failed to set MSR 0x10a"), TCG otherwise.
pick_accel() {
  local k=$1
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    if bash scripts/matrix/boot.sh "$k" "$root_img" "$work/payload.img" kvm host 15 "$work/probe.log" matrix.probe \
        >"$work/probe.err" 2>&1 && grep -q "MATRIX PROBE OK" "$work/probe.log"; then
      ACCEL=kvm; ACCEL_WHY="booted a kernel to its initramfs"; return
    fi
    ACCEL=tcg; ACCEL_WHY="/dev/kvm did not boot a kernel to its initramfs in 15 s: $(cat "$work/probe.err" "$work/probe.log" 2>/dev/null | grep -v '^$' | head -1 | cut -c1-120)"
  else
    ACCEL=tcg; ACCEL_WHY="no usable /dev/kvm"
  fi
}

total_fail=0 unavailable=() summary=()
ACCEL=${ATO_MATRIX_ACCEL:-} ACCEL_WHY="from ATO_MATRIX_ACCEL"
for entry in "${MATRIX[@]}"; do
  IFS='|' read -r name suites meta cpu expect <<<"$entry"
  if [ -n "$only" ] && ! grep -qx "$name" <<<"${only//,/$'\n'}"; then continue; fi
  pkg=$(matrix_resolve "$suites" "$meta")
  if [ -z "$pkg" ]; then
    echo "$name: NOT AVAILABLE ($meta in none of: $suites)"; unavailable+=("$name"); continue
  fi
  t0=$(date +%s)
  deb=$(matrix_download "$pkg")
  kdir=$(kernel_dir "$deb")
  t1=$(date +%s)
  if [ -z "$ACCEL" ]; then pick_accel "$kdir"; fi
  [ -n "${accel_said:-}" ] || { echo "accelerator: $ACCEL ($ACCEL_WHY)"; accel_said=1; }
  qcpu=$cpu
  [ "$ACCEL" = kvm ] && [ "$cpu" = max ] && qcpu=host
  console="$work/$name.console"
  rc=0
  bash scripts/matrix/boot.sh "$kdir" "$root_img" "$work/payload.img" "$ACCEL" "$qcpu" 600 "$console" \
    "matrix.name=$name" >"$work/$name.qemu" 2>&1 || rc=$?
  # QEMU that ends before the guest printed a single MATRIX line did not run ato at all (seen once in CI:
  # gone after 5 s, no console): that boot is tried once more, and said so; a guest that started and failed
  # is never retried.
  if ! grep -aqs '^MATRIX ' "$console"; then
    echo "$name: qemu ended after $(($(date +%s) - t1)) s before the guest started (exit $rc; $(tail -c 200 "$work/$name.qemu" 2>/dev/null | tr '\n' ' ')); booting once more"
    rc=0
    bash scripts/matrix/boot.sh "$kdir" "$root_img" "$work/payload.img" "$ACCEL" "$qcpu" 600 "$console" \
      "matrix.name=$name" >"$work/$name.qemu" 2>&1 || rc=$?
  fi
  touch "$console" # a boot that never made one is a failed guest below, not the end of this script (set -e)
  t2=$(date +%s)
  release=$(cat "$kdir/release")
  echo "== $name: kernel $release ($pkg), cpu $qcpu, $ACCEL: prepare $((t1 - t0)) s, boot and run $((t2 - t1)) s"
  sed -n 's/^MATRIX INFO /  info: /p' "$console" | tr -d '\r'
  grep -aoE '^MATRIX (PASS|FAIL) .*' "$console" | tr -d '\r' | sed "s/^MATRIX \(PASS\|FAIL\) /$name: \1 /"
  passes=$(grep -ac '^MATRIX PASS ' "$console" || true)
  fails=$(grep -ac '^MATRIX FAIL ' "$console" || true)
  if ! grep -aq '^MATRIX DONE failed=0' "$console"; then
    [ "$fails" -gt 0 ] || echo "$name: FAIL guest did not finish (qemu exit $rc; $(tail -c 300 "$work/$name.qemu" | tr '\n' ' '))"
    fails=$((fails > 0 ? fails : 1))
  fi
  verdict=PASS
  if [ "$fails" -gt 0 ]; then
    mkdir -p "$keep"
    cp "$console" "$keep/$name.console"
    echo "$name: console kept in $keep/$name.console"
    if [ "$expect" = known-fail ]; then verdict="KNOWN-FAIL"; else verdict=FAIL; total_fail=1; fi
  elif [ "$expect" = known-fail ]; then
    verdict="FAIL (passes now: mark it pass in $0)"; total_fail=1
  fi
  summary+=("$(printf '%-12s %-24s %-8s %2d pass %2d fail  prepare %3d s  boot+run %3d s  %s' "$name" "$release" "$qcpu" "$passes" "$fails" $((t1 - t0)) $((t2 - t1)) "$verdict")")
done

echo
echo "== kernel matrix ($ACCEL), $(($(date +%s) - t_start)) s in all"
printf '%s\n' "${summary[@]}"
[ ${#unavailable[@]} -eq 0 ] || echo "not available from $MATRIX_MIRROR: ${unavailable[*]}"
[ "$total_fail" = 0 ] && echo "kernel matrix: PASS" || echo "kernel matrix: FAIL"
[ "$total_fail" = 0 ]
