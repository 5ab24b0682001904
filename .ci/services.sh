#!/usr/bin/env bash
# Install (from Debian's packages) and start PostgreSQL and Redis on private ports, and export
# DATABASE_URL, REDIS_URL and CHROMIUM_PATH for the test suite. Source it: `. .ci/services.sh`.
# `ci_services_stop` stops both again.
set -euo pipefail

ci_install_packages() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v npm >/dev/null || missing+=(nodejs npm)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# The port asked for when it is free, else one the system hands out (another PostgreSQL or Redis on this
# machine, e.g. a developer's, must not stop the suite).
ci_free_port() {
  python3 - "$1" <<'PY'
import socket, sys
for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
}

ci_services_start() {
  local pg_bin pg_port redis_port
  pg_port=$(ci_free_port "${CI_PG_PORT:-55432}")
  redis_port=$(ci_free_port "${CI_REDIS_PORT:-56379}")
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  CI_PGDATA=$(mktemp -d /tmp/ci-pgdata-XXXX)
  CI_REDIS_DIR=$(mktemp -d /tmp/ci-redis-XXXX)
  chmod 755 "$CI_PGDATA" "$CI_REDIS_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$CI_PGDATA"
    run_pg() { su postgres -s /bin/sh -c "$*"; }
  else
    run_pg() { sh -c "$*"; }
  fi
  run_pg "$pg_bin/initdb -D $CI_PGDATA -A trust -U postgres --no-sync >/dev/null"
  run_pg "$pg_bin/pg_ctl -D $CI_PGDATA -l $CI_PGDATA/server.log -w -o '-p $pg_port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start >/dev/null"
  run_pg "$pg_bin/createdb -h 127.0.0.1 -p $pg_port -U postgres hub"
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$CI_REDIS_DIR" --pidfile "$CI_REDIS_DIR/redis.pid" --logfile "$CI_REDIS_DIR/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CI_PGDATA CI_REDIS_DIR CI_PG_BIN="$pg_bin"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/hub"
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  export CHROMIUM_PATH=/usr/bin/chromium
  echo "services: PostgreSQL $DATABASE_URL, Redis $REDIS_URL, Chromium $CHROMIUM_PATH"
}

ci_services_stop() {
  [ -n "${CI_REDIS_DIR:-}" ] && [ -f "$CI_REDIS_DIR/redis.pid" ] && kill "$(cat "$CI_REDIS_DIR/redis.pid")" 2>/dev/null || true
  if [ -n "${CI_PGDATA:-}" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      su postgres -s /bin/sh -c "$CI_PG_BIN/pg_ctl -D $CI_PGDATA -m fast stop" >/dev/null 2>&1 || true
    else
      "$CI_PG_BIN/pg_ctl" -D "$CI_PGDATA" -m fast stop >/dev/null 2>&1 || true
    fi
  fi
}
