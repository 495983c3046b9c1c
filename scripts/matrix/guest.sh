#!/bin/bash
# The matrix's test inside the guest, run as PID 1 from the payload disk (/matrix, /dev/vdb):
# ato end to end on this kernel and CPU, one "MATRIX PASS|FAIL <step>" line per step on the
# console (the host reads them from the serial port), then power off. A failed step prints the
# tail of what it said; the steps after it that need it are reported FAIL as well, never skipped
# silently.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export SOFTHSM2_CONF=/etc/softhsm2.conf
exec </dev/null >/dev/console 2>&1
PING_N=20 UDP_N=100 UDP_PORT=9000
SERVER_IP=198.18.0.1 CLIENT_IP=198.18.0.2
T=/tmp/matrix
failed=0

# Each line ends with the guest's uptime: where the time goes under TCG.
at() { cut -d' ' -f1 /proc/uptime 2>/dev/null; }
pass() { echo "MATRIX PASS $1 (at $(at) s)"; }
fail() { echo "MATRIX FAIL $1: $2 (at $(at) s)"; failed=1; }
# step NAME CMD...: runs CMD with a bound on its time, PASS or FAIL with the tail of its output.
step() {
  local name=$1 rc=0; shift
  if [ "$(type -t "$1")" = function ]; then "$@" >"$T/$name.out" 2>&1 || rc=$?; else timeout 180 "$@" >"$T/$name.out" 2>&1 || rc=$?; fi
  if [ "$rc" = 0 ]; then pass "$name"; return 0; fi
  fail "$name" "exit $rc" # not the command line: it may carry a secret
  tail -n 30 "$T/$name.out" | sed 's/^/  | /'
  return 1
}
ip() { LD_LIBRARY_PATH=/opt/matrix-tools/lib command ip "$@"; }
finish() {
  echo "MATRIX DONE failed=$failed"
  sync
  echo o >/proc/sysrq-trigger
  sleep 60
}

mount_all() {
  mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf \
    && mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run && mkdir -p /run/netns /dev/shm \
    && mountpoint -q /sys/fs/bpf && mountpoint -q /tmp
}
mount_all && mkdir -p "$T" && pass mounts || { fail mounts "proc, sys, bpffs or tmp"; finish; }
# Installed as the .deb lays it out: the binary in /usr/lib/ato, /usr/bin/ato the launcher.
mkdir -p /usr/lib/ato && ln -sf /matrix/ato /usr/lib/ato/ato && cp /matrix/launcher.sh /usr/bin/ato && chmod 0755 /usr/bin/ato
ATO=/usr/bin/ato
echo "MATRIX INFO kernel=$(uname -r) $(uname -m) cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
grep -qw avx2 /proc/cpuinfo && cpu_avx2=yes || cpu_avx2=no
grep -qw sse4_1 /proc/cpuinfo && cpu_sse41=yes || cpu_sse41=no
echo "MATRIX INFO cpu_avx2=$cpu_avx2 cpu_sse4_1=$cpu_sse41"

# Below x86-64-v2 (qemu64, kvm64) Bun's runtime cannot run at all: what is proven there is that
# the launcher refuses in exactly one line naming the missing flags, with exit 69, and nothing else.
lacking=""
if [ "$(uname -m)" = x86_64 ]; then
  for f in sse4_2 popcnt; do grep -qw "$f" /proc/cpuinfo || lacking="$lacking $f"; done
fi
if [ -n "$lacking" ]; then
  echo "MATRIX INFO cpu lacks$lacking"
  refuses_clearly() {
    local rc=0 out want
    out=$("$ATO" version 2>&1) || rc=$?
    want="ato: this CPU lacks$lacking, which ato needs (x86-64-v2: SSE4.2 and POPCNT); in a VM, give it the host's CPU model or x86-64-v2 instead of qemu64/kvm64"
    echo "exit $rc: $out"
    [ "$rc" = 69 ] && [ "$out" = "$want" ]
  }
  step refuses-clearly refuses_clearly && echo "MATRIX INFO $(cat "$T/refuses-clearly.out")"
  finish
fi

no_libbpf() {
  local triplet
  triplet=$(uname -m)-linux-gnu
  ! ldconfig -p 2>/dev/null | grep -q libbpf && ! ls /usr/lib/"$triplet"/libbpf.so* /lib/"$triplet"/libbpf.so* 2>/dev/null
}
step no-libbpf no_libbpf
step version "$ATO" version && cat "$T/version.out"

# Kernels before 5.12 refuse the global parse_l4 and run the compatibility object; later ones the first.
IFS=. read -r kmajor kminor _ <<<"$(uname -r)"
if [ "$kmajor" -lt 5 ] || { [ "$kmajor" = 5 ] && [ "$kminor" -lt 12 ]; }; then want_object=xdp_audit_compat.o; else want_object=xdp_audit.o; fi
# Kernels before 5.19 have no bpf_map_lookup_percpu_elem: the conservation check's flow-sum program does not
# load there, and the agent says it sums the flow map with batch lookups instead.
if [ "$kmajor" -lt 5 ] || { [ "$kmajor" = 5 ] && [ "$kminor" -lt 19 ]; }; then want_sum_fallback=yes; else want_sum_fallback=no; fi
bpf_object() {
  grep "^bpf_object_runs" "$T/version.out" && grep -q "^bpf_object_runs *$want_object " "$T/version.out"
}
step bpf-object bpf_object && echo "MATRIX INFO $(cat "$T/bpf-object.out")"

veth() {
  ip link set lo up && ip netns add mxc && ip link add mx0 type veth peer name mx1 netns mxc \
    && ip addr add "$SERVER_IP/30" dev mx0 && ip link set mx0 up \
    && ip -n mxc addr add "$CLIENT_IP/30" dev mx1 && ip -n mxc link set mx1 up && ip -n mxc link set lo up
}
step veth veth

PIN=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
SO=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
export PKCS11_PIN=$PIN PKCS11_SO_PIN=$SO
step hsm-init "$ATO" hsm init --out /root/public.pem
unset PKCS11_SO_PIN
mkdir -p -m 0750 /var/log/ato-doctor
step doctor "$ATO" doctor --iface mx0 --pin-dir /sys/fs/bpf/ato-doctor --audit-dir /var/log/ato-doctor \
  || true

# flows_count FILE PROTO DPORT: packets summed over the flows from the client with that protocol
# (and destination port, unless "-"), read from `ato flows --json` (one field a line).
flows_count() {
  awk -v proto="$2" -v dport="$3" -v src="$CLIENT_IP" '
    /^  \{/ { p = ""; d = ""; s = ""; n = 0 }
    /"proto":/ { gsub(/[^0-9]/, "", $2); p = $2 }
    /"dport":/ { gsub(/[^0-9]/, "", $2); d = $2 }
    /"src":/ { gsub(/[",]/, "", $2); s = $2 }
    /"packets":/ { gsub(/[^0-9]/, "", $2); n = $2 }
    /^  \}/ { if (p == proto && s == src && (dport == "-" || d == dport)) sum += n }
    END { print sum + 0 }' "$1"
}

# udp_burst N: N datagrams, each from a socket of its own (a closed port answers with ICMP, which
# would make a connected socket's next write fail).
udp_burst() {
  local i sent=0
  for ((i = 0; i < $1; i++)); do echo "matrix $i" >"/dev/udp/$SERVER_IP/$UDP_PORT" && sent=$((sent + 1)); done
  echo "$sent"
}

# agent_run MODE: ato run in MODE on mx0, real traffic from the namespace, the flow map against
# the generators' counts, SIGTERM, the log verified.
agent_run() {
  local mode=$1 pins=/sys/fs/bpf/ato-$1 audit=/var/log/ato-$1 log=$T/run-$1.log
  "$ATO" run --iface mx0 --mode "$mode" --pin-dir "$pins" --audit-dir "$audit" \
    --interval-ms 200 --checkpoint-seconds 1 >"$log" 2>&1 &
  local agent=$! ok=0
  for _ in $(seq 600); do
    grep -q "XDP audit hook attached on mx0 with mode=$mode" "$log" && { ok=1; break; }
    kill -0 "$agent" 2>/dev/null || break
    sleep 0.2
  done
  if [ "$ok" = 1 ]; then pass "run-$mode-attach"; else
    fail "run-$mode-attach" "no 'attached on mx0 with mode=$mode'"; tail -n 30 "$log" | sed 's/^/  | /'
    kill -9 "$agent" 2>/dev/null; return 1
  fi
  local said=no
  grep -q "loaded the compatibility XDP object xdp_audit_compat.o" "$log" && said=yes
  if [ "$said" = "$([ "$want_object" = xdp_audit_compat.o ] && echo yes || echo no)" ]; then pass "object-$mode-logged"; else
    fail "object-$mode-logged" "the log's compatibility line is '$said' where $want_object runs"
  fi
  local fallback=no
  grep -q "did not load its flow-sum program" "$log" && fallback=yes
  echo "MATRIX INFO conservation-sum-$mode $(grep -m1 'conservation check' "$log" || echo 'the kernel walk (no fallback line)')"
  if [ "$fallback" = "$want_sum_fallback" ]; then pass "conservation-sum-$mode"; else
    fail "conservation-sum-$mode" "the log's flow-sum fallback line is '$fallback' where '$want_sum_fallback' is expected"
    grep "conservation check" "$log" | sed 's/^/  | /'
  fi
  sleep 0.5
  ip netns exec mxc ping -c "$PING_N" -i 0.2 -q "$SERVER_IP" >"$T/ping-$mode.out" 2>&1 \
    && pass "traffic-$mode-ping" || fail "traffic-$mode-ping" "$(tail -n 3 "$T/ping-$mode.out")"
  local sent
  sent=$(ip netns exec mxc bash -c "$(declare -f udp_burst); SERVER_IP=$SERVER_IP UDP_PORT=$UDP_PORT udp_burst $UDP_N" 2>/dev/null)
  [ "$sent" = "$UDP_N" ] && pass "traffic-$mode-udp" || fail "traffic-$mode-udp" "sent $sent of $UDP_N"
  sleep 1
  if timeout 120 "$ATO" flows --pin-dir "$pins" --json --top 100000 >"$T/flows-$mode.json" 2>&1; then
    local icmp udp
    icmp=$(flows_count "$T/flows-$mode.json" 1 -) udp=$(flows_count "$T/flows-$mode.json" 17 "$UDP_PORT")
    echo "MATRIX INFO flows-$mode icmp=$icmp/$PING_N udp=$udp/$UDP_N"
    [ "$icmp" = "$PING_N" ] && [ "$udp" = "$UDP_N" ] && pass "flows-$mode" \
      || fail "flows-$mode" "counted icmp $icmp of $PING_N, udp $udp of $UDP_N"
  else
    fail "flows-$mode" "ato flows failed"; tail -n 20 "$T/flows-$mode.json" | sed 's/^/  | /'
  fi
  kill -TERM "$agent"
  local rc=0
  timeout 120 tail --pid="$agent" -f /dev/null || true
  wait "$agent" || rc=$?
  if [ "$rc" = 0 ] && grep -q "final checkpoint at tree size" "$log"; then pass "sigterm-$mode"; else
    fail "sigterm-$mode" "exit $rc"; tail -n 30 "$log" | sed 's/^/  | /'
  fi
  step "verify-$mode" "$ATO" verify "$audit" --pubkey /root/public.pem && grep -q VERIFIED "$T/verify-$mode.out" \
    || fail "verify-$mode" "no VERIFIED"
  local simd
  simd=$(grep -o '"simd":"[a-z0-9]*"' "$audit"/*.log 2>/dev/null | head -1 | cut -d'"' -f4)
  echo "MATRIX INFO mask-$mode simd=$simd"
  local want=sse2
  [ "$cpu_avx2" = yes ] && want=avx2
  [ "$(uname -m)" = aarch64 ] && want=neon
  if [ "$simd" = "$want" ]; then
    pass "mask-path-$mode"
  else fail "mask-path-$mode" "routine $simd where $want was due"; fi
}
agent_run drv
agent_run skb
finish
