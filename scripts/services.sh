#!/usr/bin/env bash
# Starts the services the tests need (PostgreSQL, MariaDB) on loopback if they are not already up,
# and waits until they answer. Fails loudly if one cannot be started: tests never skip a service.
set -euo pipefail

wait_for() {  # name, check command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $name did not come up" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432

if ! mysqladmin -uroot -h127.0.0.1 -P3306 ping >/dev/null 2>&1; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_for MariaDB mysqladmin -uroot -h127.0.0.1 -P3306 ping

# kcat (librdkafka): the e2e tests produce to the local broker with it, as users do.
"$(dirname "$0")/kcat.sh"
