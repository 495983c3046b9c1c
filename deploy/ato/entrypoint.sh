#!/bin/sh
# The ato container's entrypoint: check the settings, make sure the SoftHSM token and its key
# exist, then become `ato run` (exec: ato is PID 1, so `docker stop`'s SIGTERM reaches it and it
# signs a final checkpoint). Arguments go to `ato run`; `ato-entrypoint ato …` runs another
# ato command instead (e.g. `ato verify`, `ato hsm pubkey`).
set -eu

if [ "${1:-}" = ato ]; then shift; exec ato "$@"; fi

# Every missing secret is named at once, before anything starts (compose names them too, with
# ${VAR:?}, but `docker run` of this image does not go through compose).
missing=""
[ -n "${PKCS11_PIN:-}${PKCS11_PIN_FILE:-}" ] || missing="$missing PKCS11_PIN"
[ -n "${PKCS11_SO_PIN:-}${PKCS11_SO_PIN_FILE:-}" ] || missing="$missing PKCS11_SO_PIN"
if [ -n "$missing" ]; then
  echo "ato-entrypoint: missing setting(s):$missing (set them in .env; .env.example says what each is for)" >&2
  exit 64
fi

# XDP_INTERFACE=auto: every Ethernet interface of this network namespace (the enclave's legs on
# edge and app_net, and the Enclave fabric's TAP device when it has one). Loopback and L3-only
# devices (tun, ARPHRD_NONE) are left out: the XDP program parses Ethernet frames.
if [ "${XDP_INTERFACE:-auto}" = auto ]; then
  ifaces=""
  for dev in /sys/class/net/*; do
    name=${dev##*/}
    [ "$name" != lo ] && [ "$(cat "$dev/type" 2>/dev/null)" = 1 ] && ifaces="$ifaces${ifaces:+,}$name"
  done
  [ -n "$ifaces" ] || { echo "ato-entrypoint: XDP_INTERFACE=auto found no Ethernet interface in this network namespace" >&2; exit 69; }
  export XDP_INTERFACE="$ifaces"
  echo "ato-entrypoint: XDP_INTERFACE=auto -> $XDP_INTERFACE"
fi

# Idempotent: creates the token and key pair on first start, says "exists" afterwards. PINs go
# to the module through the environment only.
ato hsm init

exec ato run "$@"
