#!/usr/bin/env bash
# Proves that scripts/test-servers.sh and scripts/redis-cluster.sh fail loudly
# when a server cannot start: for PostgreSQL, redis-server and the Cluster in
# turn, a listener (node) holds the server's port, start runs against a private
# state directory and private ports, and the check asserts a non-zero exit,
# nothing on stdout (so the Makefile's eval gets no variables) and the server's
# own "Address already in use" naming the port on stderr. It never touches the
# shared servers: every port is passed explicitly, chosen in 20000-29999 (below
# the kernel's ephemeral range, where the shared ones are not), and cleanup
# kills only the pids recorded in its own directories.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d /tmp/carehex-servers-check.XXXXXX)"
pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
holders=()
cleanup() {
  for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null || true; done
  for f in $(find "$tmp" -name '*.pid' 2>/dev/null); do kill "$(cat "$f")" 2>/dev/null || true; done
  for d in "$tmp"/*/pg; do
    [ -f "$d/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then chown postgres "$tmp"; fi

# hold N: finds a base port whose next N-1 ports and cluster bus ports (port
# minus 10000) are free, keeps a listener on the base that drops every
# connection (so redis-cli ping fails fast), and sets $held to the base port.
# The port arrives through a fifo: the listener is up when it is written.
hold() {
  local fifo="$tmp/port.$1.$RANDOM"
  mkfifo "$fifo"
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const free = (p) => new Promise((ok) => {
      const s = net.createServer();
      s.once("error", () => ok(false));
      s.listen(p, "127.0.0.1", () => s.close(() => ok(true)));
    });
    (async () => {
      for (let tries = 0; tries < 200; tries++) {
        const base = 20000 + Math.floor(Math.random() * (10000 - n));
        let ok = true;
        for (let i = 0; i < n && ok; i++) ok = (await free(base + i)) && (await free(base + i - 10000));
        if (!ok) continue;
        const srv = net.createServer((c) => c.destroy());
        srv.once("error", () => process.exit(1));
        srv.listen(base, "127.0.0.1", () => process.stdout.write(base + "\n"));
        return;
      }
      process.exit(1);
    })();
  ' "$1" >"$fifo" &
  holders+=("$!")
  read -r held <"$fifo" || { echo "test-servers-check: could not find free ports" >&2; exit 1; }
}

failures=0
# expect NAME OUT ERR RC PORT: the start must have failed, printed nothing to
# eval, and said which port and why.
expect() {
  local name="$1" out="$2" err="$3" rc="$4" port="$5"
  if [ "$rc" = 0 ]; then echo "FAIL $name: start exited 0 with port $port taken" >&2; failures=$((failures + 1)); return; fi
  if [ -s "$out" ]; then echo "FAIL $name: start printed variables although it failed:" >&2; cat "$out" >&2; failures=$((failures + 1)); return; fi
  if ! grep -q "did not start on port $port" "$err"; then echo "FAIL $name: stderr does not name port $port:" >&2; cat "$err" >&2; failures=$((failures + 1)); return; fi
  if ! grep -qi "address already in use" "$err"; then echo "FAIL $name: stderr lacks the server's own error:" >&2; cat "$err" >&2; failures=$((failures + 1)); return; fi
  echo "ok   $name: exit $rc, $(grep -m1 -i 'address already in use' "$err" | cut -c1-120)"
}

# PostgreSQL's port taken; redis-server is never reached.
hold 2; pg=$held
mkdir -p "$tmp/pg"; rc=0
CAREHEX_TEST_DIR="$tmp/pg" CAREHEX_TEST_PG_PORT=$pg CAREHEX_TEST_REDIS_PORT=$((pg + 1)) \
  scripts/test-servers.sh start >"$tmp/pg.out" 2>"$tmp/pg.err" || rc=$?
expect postgresql "$tmp/pg.out" "$tmp/pg.err" "$rc" "$pg"

# redis-server's port taken; PostgreSQL starts on the free port beside it.
hold 2; rp=$held
mkdir -p "$tmp/redis"; rc=0
CAREHEX_TEST_DIR="$tmp/redis" CAREHEX_TEST_PG_PORT=$((rp + 1)) CAREHEX_TEST_REDIS_PORT=$rp \
  scripts/test-servers.sh start >"$tmp/redis.out" 2>"$tmp/redis.err" || rc=$?
expect redis-server "$tmp/redis.out" "$tmp/redis.err" "$rc" "$rp"

# The Cluster's first port taken; the other two nodes start and are killed by cleanup.
hold 3; cp=$held
rc=0
CAREHEX_TEST_CLUSTER_DIR="$tmp/cluster" CAREHEX_TEST_CLUSTER_PORT=$cp \
  scripts/redis-cluster.sh start >"$tmp/cluster.out" 2>"$tmp/cluster.err" || rc=$?
expect redis-cluster "$tmp/cluster.out" "$tmp/cluster.err" "$rc" "$cp"

[ "$failures" = 0 ] || { echo "test-servers-check: $failures failure(s)" >&2; exit 1; }
