#!/usr/bin/env bash
# The demo, end to end on a built-in lab: install, build, create two network namespaces joined
# by a veth pair, serve HTTP from the "server" namespace, initialise a SoftHSM token, run the
# agent on the server's interface, send real traffic, show the top flows and a metrics excerpt,
# stop the agent (final signed checkpoint, detach), verify the evidence log with `ato verify`
# and one checkpoint signature and inclusion proof with OpenSSL alone, and clean up.
# Run as root on Debian 12 / Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh

ATO=./dist/ato
LAB_ID="demo$(printf '%04x' $((RANDOM % 65536)))"
PIN_DIR=/sys/fs/bpf/ato-$LAB_ID
WORK=$(mktemp -d /tmp/ato-demo-XXXXXX)
AGENT_PID=""

cleanup() {
  chattr -R -a "$WORK" 2>/dev/null || true # evidence segments are append-only
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  [ -f "$WORK/db.pid" ] && kill "$(cat "$WORK/db.pid")" 2>/dev/null || true
  bun scripts/lab.ts down "$LAB_ID" || true
  rm -rf "$PIN_DIR" "$WORK"
}
trap cleanup EXIT
AUDIT_DIR="$WORK/audit"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lab: namespaces ${LAB_ID}-c (client) and ${LAB_ID}-s (server), joined by a veth pair"
bun scripts/lab.ts up "$LAB_ID" > "$WORK/lab.json"
SERVER_NS=$(bun -e "console.log(require('$WORK/lab.json').server.ns)")
SERVER_DEV=$(bun -e "console.log(require('$WORK/lab.json').server.dev)")
SERVER_IP=$(bun -e "console.log(require('$WORK/lab.json').server.v4)")
SERVER_IP6=$(bun -e "console.log(require('$WORK/lab.json').server.v6)")
CLIENT_NS=$(bun -e "console.log(require('$WORK/lab.json').client.ns)")
cat "$WORK/lab.json"

step "app plane: nginx in the server namespace"
mkdir -p "$WORK/www" && head -c 20000 /dev/urandom | base64 > "$WORK/www/index.html"
cat > "$WORK/nginx.conf" <<NGINX
daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events {}
http { access_log off; server { listen $SERVER_IP:80; listen [$SERVER_IP6]:80; root $WORK/www; } }
NGINX
ip netns exec "$SERVER_NS" nginx -c "$WORK/nginx.conf" &
sleep 0.5

step "app plane: MariaDB in the server namespace (its own data directory, a demo user over TCP)"
DB_PASS="demo-$RANDOM$RANDOM"
mariadb-install-db --datadir="$WORK/db" --user=root --auth-root-authentication-method=socket >/dev/null 2>&1
ip netns exec "$SERVER_NS" mariadbd --datadir="$WORK/db" --socket="$WORK/db.sock" --pid-file="$WORK/db.pid" \
  --bind-address="$SERVER_IP" --port=3306 --user=root --skip-log-error >/dev/null 2>&1 &
for _ in $(seq 100); do [ -S "$WORK/db.sock" ] && break; sleep 0.1; done
mariadb --socket="$WORK/db.sock" -u root -e "CREATE USER demo@'%' IDENTIFIED BY '$DB_PASS'; CREATE DATABASE drupal; GRANT ALL ON drupal.* TO demo@'%';"

step "HSM: a SoftHSM token with an Ed25519 key (token dir under $WORK)"
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$WORK/tokens" > "$WORK/softhsm2.conf"
export SOFTHSM2_CONF="$WORK/softhsm2.conf" PKCS11_PIN="demo-$RANDOM$RANDOM" PKCS11_SO_PIN="so-$RANDOM$RANDOM"
$ATO hsm init --out "$WORK/public.pem"
openssl pkey -pubin -in "$WORK/public.pem" -noout -text | head -1

step "agent: ato run on $SERVER_DEV"
nsenter --net="/run/netns/$SERVER_NS" $ATO run --iface "$SERVER_DEV" --pin-dir "$PIN_DIR" \
  --audit-dir "$AUDIT_DIR" --listen 127.0.0.1:9400 --checkpoint-seconds 2 --active-timeout 2 &
AGENT_PID=$!
for _ in $(seq 100); do [ -e "$PIN_DIR/flow_map" ] && break; sleep 0.1; done
sleep 0.5

step "traffic: HTTP over IPv4 and IPv6, ping, MySQL protocol"
for i in $(seq 20); do ip netns exec "$CLIENT_NS" curl -s -o /dev/null "http://$SERVER_IP/"; done
for i in $(seq 10); do ip netns exec "$CLIENT_NS" curl -s -o /dev/null "http://[$SERVER_IP6]/"; done
ip netns exec "$CLIENT_NS" ping -c 5 -i 0.1 -q "$SERVER_IP" | tail -1
echo "MySQL protocol: 10 queries over TCP to $SERVER_IP:3306"
for i in $(seq 10); do
  MYSQL_PWD="$DB_PASS" ip netns exec "$CLIENT_NS" mariadb -h "$SERVER_IP" -u demo drupal -N -e "SELECT $i, NOW()" >/dev/null
done

step "top flows, read from the pinned map (ato flows)"
nsenter --net="/run/netns/$SERVER_NS" $ATO flows --pin-dir "$PIN_DIR" --top 10

sleep 2.5
step "metrics excerpt (/metrics inside the server namespace)"
ip netns exec "$SERVER_NS" curl -s http://127.0.0.1:9400/metrics | grep -E '^(ato_(verified|unverified)_flows_total|ato_signed_evidence_total|ato_packets_total\{proto="tcp"|ato_checkpoint_tree_size|ato_flow_map_entries|xdp_audit_events_total)'

step "stop: SIGTERM detaches, drains the events, collects once more (reason shutdown), signs a final checkpoint"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; AGENT_PID=""
ip netns exec "$SERVER_NS" ip link show "$SERVER_DEV" | grep -q xdp && echo "still attached!" || echo "no XDP program left on $SERVER_DEV"
kill "$(cat "$WORK/nginx.pid")" "$(cat "$WORK/db.pid")" 2>/dev/null || true

step "evidence: one masked flow record"
grep -m1 '"kind":"flow"' "$AUDIT_DIR/signed_evidence.log"

step "ato verify (offline: the log and a public key)"
$ATO verify "$AUDIT_DIR" --pubkey "$WORK/public.pem"

step "OpenSSL alone: export record 3's inclusion proof and its checkpoint, check the signature"
$ATO verify "$AUDIT_DIR" --pubkey "$WORK/public.pem" --export-proof 3 --out "$WORK/proof" >/dev/null
ls "$WORK/proof"
(cd "$WORK/proof" && openssl pkeyutl -verify -pubin -inkey pubkey.pem -rawin -in checkpoint.txt -sigfile checkpoint.sig)
echo; echo "demo finished"
