#!/usr/bin/env bash
# compose.yml built and brought up for real on this machine, which cannot pull images: a Debian
# base made with debootstrap, the ato image built from source on it (deploy/ato/Dockerfile),
# stand-ins for the upstream images built from Debian packages (deploy/local/compose.local.yml),
# all on a Docker engine of this run's own. Then the trust-chain checks, the faults, and
# teardown (README: "Deploying with compose"). Exit 0 only when every check passed.
#
#   bash scripts/compose-test.sh      # root; needs dist/ato (scripts/build.sh), docker.io,
#                                     # docker-compose (v1), debootstrap, openssl, bun
#
# Traffic stays between this run's containers. Everything the run creates (engine, images,
# containers, volumes, networks, pins under /sys/fs/bpf, temp files) is removed on exit, also
# on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/compose/daemon.sh
. scripts/compose/checks.sh

ID="ato-ci-$$"
WORK=$(mktemp -d "/tmp/$ID.XXXX")
BASE_IMAGE="ato-local/debian:$ID"
PIN_DIR="/sys/fs/bpf/$ID"
MIRROR=${ATO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
T0=$SECONDS
step() { echo "== [$((SECONDS - T0))s] $*"; }

for tool in dockerd docker docker-compose debootstrap openssl bun chattr; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install docker.io docker-compose debootstrap openssl e2fsprogs)"
done
[ -x dist/ato ] || fail "dist/ato missing: run bash scripts/build.sh first"

dc() { docker-compose -p "$ID" --env-file "$WORK/env" -f compose.yml -f deploy/local/compose.local.yml "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1; then
    if [ "$rc" != 0 ]; then
      echo "== logs of the failed run" >&2
      dc logs --no-color --tail=30 >&2 2>/dev/null
    fi
    # The evidence log is append-only (chattr +a): lift that on the volume before removing it.
    local vol; vol=$(docker volume inspect -f '{{.Mountpoint}}' "${ID}_signed-audit-log" 2>/dev/null)
    [ -n "$vol" ] && chattr -R -a "$vol" 2>/dev/null
    dc down -v --rmi all --remove-orphans >/dev/null 2>&1
  fi
  stop_engine "$WORK"
  rm -rf "$WORK" "$PIN_DIR"
  [ "$rc" = 0 ] || echo "compose-test: FAILED after $((SECONDS - T0))s" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

secret() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
MARIADB_ROOT_PASSWORD=$(secret) DRUPAL_DB_PASSWORD=$(secret) GRAFANA_ADMIN_PASSWORD=$(secret)
PKCS11_PIN=$(secret) PKCS11_SO_PIN=$(secret)
mkdir -p "$WORK/certs"
openssl req -x509 -nodes -newkey rsa:2048 -days 2 -subj "/CN=drupal.enclave" \
  -addext "subjectAltName=DNS:drupal.enclave,DNS:grafana.enclave" \
  -keyout "$WORK/certs/tls.key" -out "$WORK/certs/tls.crt" 2>/dev/null
cat >"$WORK/env" <<EOF
ENCLAVE_ENROLMENT_KEY=local-stand-in-not-enrolled
MARIADB_ROOT_PASSWORD=$MARIADB_ROOT_PASSWORD
DRUPAL_DB_PASSWORD=$DRUPAL_DB_PASSWORD
GRAFANA_ADMIN_PASSWORD=$GRAFANA_ADMIN_PASSWORD
PKCS11_PIN=$PKCS11_PIN
PKCS11_SO_PIN=$PKCS11_SO_PIN
TLS_CERT_DIR=$WORK/certs
GATEWAY_BIND=127.0.0.1
GATEWAY_HTTPS_PORT=0
GATEWAY_HTTP_PORT=0
FLOW_MAP_PATH=$PIN_DIR/flow_map
ATO_CHECKPOINT_SECONDS=2
ATO_ACTIVE_TIMEOUT=1
ATO_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
ATO_LOCAL_BASE=$BASE_IMAGE
ATO_LOCAL_TAG=$ID
EOF
# Networks whose HTTPS proxy re-signs traffic: the build trusts what this host trusts (public
# certificates only), so the ato image's build stage can reach the npm registry.
ATO_BUILD_EXTRA_CA_CERTS=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
export ATO_BUILD_EXTRA_CA_CERTS

step "a missing .env value is named before anything starts"
grep -v '^PKCS11_PIN=' "$WORK/env" >"$WORK/env.missing"
out=$(env -u PKCS11_PIN docker-compose -p "$ID" --env-file "$WORK/env.missing" -f compose.yml -f deploy/local/compose.local.yml config 2>&1 >/dev/null) \
  && fail "docker-compose config accepted an .env without PKCS11_PIN"
grep -q 'set PKCS11_PIN in .env' <<<"$out" || fail "compose did not name PKCS11_PIN: $out"
ok "compose refuses: $(grep -o 'in service "[^"]*": set PKCS11_PIN in .env.*' <<<"$out" | head -1)"

step "engine and Debian base image"
# br_netfilter passes bridged frames through iptables; a DROP policy (left by a Docker engine that
# managed the firewall) would silently drop traffic between this run's containers.
if command -v iptables >/dev/null && iptables -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP' \
  && [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
  fail "the host's iptables FORWARD policy is DROP and bridged traffic is filtered: containers of this run could not talk (stop the other Docker engine and run iptables -P FORWARD ACCEPT, or unload br_netfilter)"
fi
start_engine "$WORK"
import_debian "$WORK" "$BASE_IMAGE" "$MIRROR"
ok "$(docker version -f 'engine {{.Server.Version}}'), base $BASE_IMAGE from debootstrap ($MIRROR)"

step "build: the ato image from source, stand-ins from Debian packages"
dc build >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "docker-compose build"; }
docker run --rm --entrypoint ato "ato-local/ato:$ID" version | sed 's/^/    /'
out=$(docker run --rm --network none "ato-local/ato:$ID" 2>&1) && fail "the agent image started without PINs"
grep -q 'missing setting(s): PKCS11_PIN PKCS11_SO_PIN' <<<"$out" || fail "entrypoint did not name the missing PINs: $out"
ok "entrypoint refuses: $out"

step "up: every service but Grafana (provisioning checked below), and the edge client"
dc up -d enclave db drupal apache nginx xdp-auditor prometheus probe >"$WORK/up.log" 2>&1 \
  || { cat "$WORK/up.log" >&2; fail "docker-compose up"; }
wait_healthy 180 enclave db drupal apache nginx xdp-auditor prometheus
EDGE_IP=$(docker inspect -f "{{(index .NetworkSettings.Networks \"${ID}_edge\").IPAddress}}" "$(cid enclave)")
docker cp "$WORK/certs/tls.crt" "$(cid probe):/tmp/ca.crt"

step "1. XDP attached (agent log)"
attached=$(dc logs --no-color xdp-auditor | grep -o 'XDP audit hook attached on [^ ]* with mode=[a-z]*' | sort -u || true)
[ "$(wc -l <<<"$attached")" -ge 2 ] || fail "expected the hook on the edge and app_net legs, log shows: ${attached:-nothing}"
sed 's/^/    /' <<<"$attached"
dc logs --no-color xdp-auditor | grep -o 'XDP_INTERFACE=auto -> .*' | sed 's/^/    /' || true

step "traffic: edge client -> nginx (TLS) -> apache -> PHP-FPM -> MariaDB"
redirect=$(docker exec "$(cid probe)" curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://$EDGE_IP/")
[[ $redirect == "301 https://"* ]] || fail "plain HTTP should redirect to HTTPS, got: $redirect"
ok "http -> $redirect"
requests 20
# Docker's DNS forwards names it does not know to the host's resolvers, which this engine gives
# no route to: an unknown name times out rather than failing fast. (app_net's `internal: true` is
# enforced by Docker's iptables rules, which this run's engine leaves off: not checked here.)
docker exec "$(cid probe)" timeout 5 getent hosts db >/dev/null && fail "the edge client resolves db, which lives on app_net only"
ok "db does not resolve from the edge network"
docker exec "$(cid probe)" curl -sS -m 3 "http://$EDGE_IP:9400/metrics" >/dev/null 2>&1 && fail "/metrics answers on the edge network"
ok "/metrics does not answer from the edge network"

step "2. /metrics inside the enclave namespace"
sleep 3 # two collector cycles, an active-timeout export (ATO_ACTIVE_TIMEOUT=1) and a checkpoint (ATO_CHECKPOINT_SECONDS=2)
tcp=$(metric 'ato_packets_total{proto="tcp",direction="ingress"}')
verified=$(metric ato_verified_flows_total)
[ "${tcp:-0}" -gt 0 ] && [ "${verified:-0}" -gt 0 ] || fail "metrics: tcp packets ${tcp:-none}, verified flows ${verified:-none}"
ok "ato_packets_total{tcp,ingress} $tcp, ato_verified_flows_total $verified, ato_signed_evidence_total $(metric ato_signed_evidence_total)"
in_enclave wget -qO- http://127.0.0.1:9400/checkpoint >"$WORK/checkpoint-1.txt"
ok "saved the agent's latest signed checkpoint (/checkpoint) for the consistency check"

step "3. Prometheus ready, agent target up"
in_enclave wget -qO- http://127.0.0.1:9090/-/ready | sed 's/^/    /'
in_enclave promtool check config /etc/prometheus/prometheus.yml 2>&1 | sed 's/^/    /'
for _ in $(seq 60); do
  up=$(in_enclave wget -qO- 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22ato%22%7D')
  grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up" && break
  sleep 1
done
grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up" || fail "Prometheus: up{job=\"ato\"} is not 1: $up"
ok "up{job=\"ato\"} = 1"

step "4. every dashboard expression returns data from this Prometheus"
bun scripts/compose/dashboard.ts query --wait 120 -- docker exec "$(cid prometheus)" | sed 's/^/    /' \
  || fail "dashboard expressions without data (above)"

step "5. signed evidence in the volume"
docker exec "$(cid xdp-auditor)" sh -c 'ls -l /var/log/audit; lsattr /var/log/audit/signed_evidence.log' | sed 's/^/    /'
docker exec "$(cid xdp-auditor)" ato hsm pubkey >"$WORK/public.pem"
in_enclave wget -qO- http://127.0.0.1:9400/metrics >"$WORK/metrics.txt"

step "6. docker stop: final signed checkpoint; ato verify on the copy"
stop_agent 1
verify_evidence 1
flows=$(flow_ifaces 1)
sed 's/^/    flow records /' <<<"$flows"
for leg in $(grep -o 'attached on [^ ]*' <<<"$attached" | cut -d' ' -f3); do
  grep -q "\"iface\":\"$leg\"" <<<"$flows" || fail "no flow record from $leg"
done
ok "flow records from every attached interface"

step "7. restart: the same log continues, and verifies against the checkpoint saved before"
docker start "$(cid xdp-auditor)" >/dev/null
wait_healthy 60 xdp-auditor
requests 10
sleep 3
stop_agent 2
size1=$(stat -c %s "$WORK/evidence-1/signed_evidence.log")
cmp -s -n "$size1" "$WORK/evidence-1/signed_evidence.log" "$WORK/evidence-2/signed_evidence.log" \
  || fail "the log after the restart does not begin with the log before it"
[ "$(stat -c %s "$WORK/evidence-2/signed_evidence.log")" -gt "$size1" ] || fail "the log did not grow after the restart"
ok "the first run's $size1 bytes are the start of the continued log"
verify_evidence 2 --trusted-checkpoint "$WORK/checkpoint-1.txt"

step "8. no secret in any service's log or in /metrics"
dc logs --no-color >"$WORK/all.log" 2>&1
no_secrets "$WORK/all.log"
no_secrets "$WORK/metrics.txt"
ok "$(wc -l <"$WORK/all.log") log lines and /metrics checked"

step "teardown as the README says: lift append-only, down -v, remove the images"
dc run --rm --no-deps --entrypoint chattr xdp-auditor -R -a /var/log/audit
# --rmi all takes every image a service names, the imported base (the enclave stand-in's) too.
dc down -v --rmi all --remove-orphans >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; fail "docker-compose down"; }
# The ato image's build stage stays behind as an untagged image; on this run's own engine every
# image is the run's.
docker image prune -f >/dev/null
left="$(docker ps -aq)$(docker volume ls -q)$(docker images -q)$(docker network ls -q --filter "name=$ID")"
[ -z "$left" ] || fail "left behind: $(docker ps -a; docker volume ls; docker images; docker network ls)"
ok "no container, volume, image or network of $ID left"
step "compose-test: all checks passed"
