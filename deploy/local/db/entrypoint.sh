#!/bin/bash
# What the mariadb image's entrypoint does, for the stand-in: on the first start (empty data
# directory) create the system tables, set the root password (root only on localhost: the
# install's passwordless root@127.0.0.1, ::1 and hostname are dropped), create MARIADB_DATABASE and
# MARIADB_USER with MARIADB_PASSWORD; then run the server as mysql, listening on the network.
# Passwords reach the server through SQL on a local socket, never through a command line.
set -euo pipefail
datadir=/var/lib/mysql
chown mysql:mysql "$datadir" /run/mysqld

if [ ! -d "$datadir/mysql" ]; then
  missing=""
  for v in MARIADB_ROOT_PASSWORD MARIADB_DATABASE MARIADB_USER MARIADB_PASSWORD; do
    [ -n "${!v:-}" ] || missing+=" $v"
  done
  [ -z "$missing" ] || { echo "db: missing setting(s):$missing" >&2; exit 64; }
  for v in MARIADB_DATABASE MARIADB_USER; do
    [[ ${!v} =~ ^[A-Za-z0-9_]{1,64}$ ]] || { echo "db: $v must be letters, digits or _ (1-64)" >&2; exit 64; }
  done
  sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; }

  echo "db: initialising $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  sock=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$sock" &
  pid=$!
  for _ in $(seq 60); do mariadb-admin --socket="$sock" ping --silent >/dev/null 2>&1 && break; sleep 0.5; done
  mariadb --socket="$sock" -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(hostname)';
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;
CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");
GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';
SHUTDOWN;
SQL
  # SHUTDOWN, not kill: the server runs as mysql and this script holds no CAP_KILL.
  wait "$pid"
  echo "db: database '$MARIADB_DATABASE' and user '$MARIADB_USER' created"
fi

[ "${1:-}" = mariadbd ] && shift
exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --socket=/run/mysqld/mysqld.sock "$@"
