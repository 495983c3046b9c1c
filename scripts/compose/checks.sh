# Sourced by scripts/compose-test.sh: the checks, each failing the run with a line that says what
# was expected and what was seen. Uses dc (docker-compose for this run), cid, WORK.

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

# cid SERVICE: the service's container id.
cid() { dc ps -q "$1"; }

# wait_healthy SECONDS SERVICE…: every service's container reports healthy.
wait_healthy() {
  local limit=$1 s state; shift
  for s in "$@"; do
    for _ in $(seq "$limit"); do
      state=$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$(cid "$s")")
      case $state in
        running/healthy) break ;;
        running/starting) sleep 1 ;;
        *) dc logs --tail=40 "$s" >&2; fail "$s is $state, expected running/healthy" ;;
      esac
    done
    [ "$state" = running/healthy ] || { dc logs --tail=40 "$s" >&2; fail "$s not healthy after ${limit}s ($state)"; }
  done
  ok "healthy: $*"
}

# in_enclave CMD…: runs a command inside the enclave network namespace (Prometheus's container,
# which shares it, has wget): "docker exec <a container of the namespace> wget …".
in_enclave() { docker exec "$(cid prometheus)" "$@"; }

# requests N: N HTTPS requests from the edge client through the gateway to the app and MariaDB;
# every answer must come from the database, whose visit count must grow by N.
requests() {
  local n=$1 out first last
  out=$(docker exec "$(cid probe)" sh -c "for i in \$(seq $n); do curl -sS --fail --cacert /tmp/ca.crt --resolve drupal.enclave:443:$EDGE_IP https://drupal.enclave/; done") \
    || fail "HTTPS through the gateway failed: $out"
  [ "$(grep -c '"db":"ok"' <<<"$out")" = "$n" ] || fail "expected $n answers from MariaDB, got: $out"
  first=$(head -1 <<<"$out" | sed -n 's/.*"visits":\([0-9]*\).*/\1/p')
  last=$(tail -1 <<<"$out" | sed -n 's/.*"visits":\([0-9]*\).*/\1/p')
  [ $((last - first + 1)) = "$n" ] || fail "visits went $first -> $last over $n requests"
  ok "$n requests via nginx -> apache -> PHP-FPM -> MariaDB ($(head -1 <<<"$out" | sed -n 's/.*"server":"\([^"]*\)".*/\1/p')), visits $first -> $last"
}

# metric NAME_WITH_LABELS: its value from the agent's /metrics, read inside the enclave namespace.
metric() {
  in_enclave wget -qO- http://127.0.0.1:9400/metrics | awk -v m="$1" '$1 == m { print $2 }'
}

# stop_agent LABEL: `docker stop`, then the container must have exited 0 after a signed final
# checkpoint; its evidence is copied out of the volume to $WORK/evidence-LABEL.
stop_agent() {
  local c; c=$(cid xdp-auditor)
  docker stop -t 30 "$c" >/dev/null
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$c")" = 0 ] || fail "agent exited $(docker inspect -f '{{.State.ExitCode}}' "$c") after docker stop"
  local final; final=$(docker logs "$c" 2>&1 | grep 'final checkpoint at tree size' | tail -1 || true)
  grep -q 'signature_status=ok' <<<"$final" || fail "no signed final checkpoint in the agent's log after docker stop (last: ${final:-none})"
  ok "docker stop: exit 0, ${final#*ato: }"
  docker cp "$c:/var/log/audit" "$WORK/evidence-$1"
}

# verify_evidence LABEL [ARGS…]: `ato verify` (the host's dist/ato, no HSM, no network) on a copy.
verify_evidence() {
  local label=$1 out; shift
  out=$("$ROOT/dist/ato" verify "$WORK/evidence-$label" --pubkey "$WORK/public.pem" "$@" 2>&1) || fail "ato verify evidence-$label: $out"
  echo "$out" | sed 's/^/    /'
  ok "ato verify evidence-$label: exit 0"
}

# flow_ifaces LABEL: "<count> <iface>" for the flow records of a copied log.
flow_ifaces() {
  grep -h '"kind":"flow"' "$WORK/evidence-$1"/signed_evidence*.log | grep -o '"iface":"[^"]*"' | sort | uniq -c || true
}

# no_secrets FILE: none of the run's secrets appears in FILE.
no_secrets() {
  local v
  for v in "$MARIADB_ROOT_PASSWORD" "$DRUPAL_DB_PASSWORD" "$GRAFANA_ADMIN_PASSWORD" "$PKCS11_PIN" "$PKCS11_SO_PIN"; do
    ! grep -qF -- "$v" "$1" || fail "a secret appears in $(basename "$1")"
  done
}
