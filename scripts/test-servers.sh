#!/usr/bin/env bash
# Starts a throwaway PostgreSQL and redis-server on loopback for the tests and
# prints the environment variables that point the tests at them:
#   eval "$(scripts/test-servers.sh start)"   ...   scripts/test-servers.sh stop
# State lives under ${CAREHEX_TEST_DIR:-/tmp/carehex-test}. A server that does
# not start makes start exit non-zero with the tail of that server's own log on
# stderr and nothing on stdout, so the Makefile's
#   servers="$(scripts/test-servers.sh start)" && eval "$servers"
# stops there instead of running the tests without it.
set -euo pipefail
dir="${CAREHEX_TEST_DIR:-/tmp/carehex-test}"
pgport="${CAREHEX_TEST_PG_PORT:-55432}"
redisport="${CAREHEX_TEST_REDIS_PORT:-56379}"
pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# fail prints the last lines of a server's log and a one-line verdict, then exits.
fail() {
  local log="$1"; shift
  if [ -f "$log" ]; then echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; echo "---" >&2; fi
  echo "test-servers: $*" >&2
  exit 1
}

case "${1:-start}" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    as_pg "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || fail "$dir/initdb.log" "initdb of PostgreSQL in $dir/pg failed"
  fi
  if ! as_pg "$pgbin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
      -o "-p $pgport -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null 2>&1 \
      || fail "$dir/pg.log" "PostgreSQL did not start on port $pgport"
  fi
  if ! redis-cli -p "$redisport" ping >/dev/null 2>&1; then
    redis-server --port "$redisport" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$redisport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    # --daemonize forks before binding, so its own exit status says nothing.
    redis-cli -p "$redisport" ping >/dev/null 2>&1 || fail "$dir/redis.log" "redis-server did not start on port $redisport"
  fi
  echo "export CAREHEX_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"
  echo "export CAREHEX_TEST_REDIS_URL=redis://127.0.0.1:$redisport/0"
  ;;
stop)
  as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$redisport" shutdown nosave >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
