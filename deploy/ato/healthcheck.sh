#!/bin/bash
# Docker health check for the agent: GET /readyz (200 only while the program is attached, the
# HSM answers and the log is writable). bash's /dev/tcp, because the runtime image carries no
# HTTP client; ATO_LISTEN is where `ato run` serves, a wildcard address is probed on loopback.
set -euo pipefail
listen=${ATO_LISTEN:-127.0.0.1:9400}
host=${listen%:*} port=${listen##*:}
host=${host#[} host=${host%]}
case "$host" in 0.0.0.0 | "" | "::") host=127.0.0.1 ;; esac
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 _ status _ <&3
[ "$status" = 200 ] || { echo "readyz: HTTP ${status:-no answer}"; cat <&3; exit 1; }
