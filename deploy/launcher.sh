#!/bin/sh
# /usr/bin/ato as the .deb installs it (scripts/package.sh): the compiled binary is /usr/lib/ato/ato.
# Bun's runtime, which ato is compiled into, needs x86-64-v2 (SSE4.2 and POPCNT), in its default and
# its baseline build alike; on an older CPU, or a VM given the qemu64/kvm64 CPU model, it dies with
# "Illegal instruction" before ato's first line. So this checks the CPU's flags first and says, in
# one line, what is missing (exit 69, EX_UNAVAILABLE); otherwise it is the binary (exec).
# POSIX sh only: it must run where nothing else of ato can.
bin=/usr/lib/ato/ato
if [ "$(uname -m)" = x86_64 ] && [ -r /proc/cpuinfo ]; then
  flags=$(sed -n '/^flags[[:space:]]*:/{s/^[^:]*:/ /;s/$/ /;p;q;}' /proc/cpuinfo)
  missing=
  for f in sse4_2 popcnt; do
    case $flags in *" $f "*) ;; *) missing="$missing $f" ;; esac
  done
  if [ -n "$flags" ] && [ -n "$missing" ]; then
    echo "ato: this CPU lacks${missing}, which ato needs (x86-64-v2: SSE4.2 and POPCNT); in a VM, give it the host's CPU model or x86-64-v2 instead of qemu64/kvm64" >&2
    exit 69
  fi
fi
exec "$bin" "$@"
