#!/usr/bin/env bash
# Starts a throwaway 3-master Redis Cluster on loopback for the providers
# tests (the same Lua scripts must run on a single redis-server and on a
# cluster) and prints the variable that points the tests at it:
#   eval "$(scripts/redis-cluster.sh start)"   ...   scripts/redis-cluster.sh stop
# Ports ${CAREHEX_TEST_CLUSTER_PORT:-57001} and the next two (cluster bus on
# the port minus 10000: the default plus 10000 would not fit); state lives under
# ${CAREHEX_TEST_CLUSTER_DIR:-/tmp/carehex-cluster}. Running start twice is
# harmless: a healthy cluster is left as it is.
set -euo pipefail
dir="${CAREHEX_TEST_CLUSTER_DIR:-/tmp/carehex-cluster}"
base="${CAREHEX_TEST_CLUSTER_PORT:-57001}"
ports=("$base" "$((base + 1))" "$((base + 2))")

addrs() { local IFS=,; local a=(); for p in "${ports[@]}"; do a+=("127.0.0.1:$p"); done; echo "${a[*]}"; }
# Every node must see the cluster whole: the state spreads by gossip, and a
# client may ask any of them first.
cluster_ok() {
  for p in "${ports[@]}"; do
    redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

case "${1:-start}" in
start)
  if ! cluster_ok; then
    for p in "${ports[@]}"; do
      mkdir -p "$dir/$p"
      if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
        # A leftover nodes.conf from an earlier run names a cluster whose other
        # members are gone; start every node fresh instead.
        rm -f "$dir/$p/nodes.conf"
        redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/$p" \
          --cluster-enabled yes --cluster-port "$((p - 10000))" --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
          --save "" --appendonly no --daemonize yes \
          --logfile "$dir/$p/redis.log" --pidfile "$dir/$p/redis.pid" >/dev/null
      fi
    done
    for p in "${ports[@]}"; do
      for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
      redis-cli -p "$p" ping >/dev/null 2>&1 || {
        echo "--- tail of $dir/$p/redis.log" >&2; tail -n 20 "$dir/$p/redis.log" >&2 || true; echo "---" >&2
        echo "redis-cluster: redis-server did not start on port $p" >&2; exit 1; }
    done
    # Nodes that already hold slots (a half-built earlier run) would make
    # --cluster create refuse; reset them to empty masters first.
    for p in "${ports[@]}"; do
      redis-cli -p "$p" flushall >/dev/null 2>&1 || true
      redis-cli -p "$p" cluster reset hard >/dev/null
    done
    redis-cli --cluster create $(addrs | tr , ' ') --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
      || { cat "$dir/create.log" >&2; exit 1; }
    for _ in $(seq 100); do cluster_ok && break; sleep 0.1; done
    cluster_ok || { echo "cluster did not reach cluster_state:ok; see $dir/create.log" >&2; exit 1; }
  fi
  echo "export CAREHEX_TEST_REDIS_CLUSTER_ADDRS=$(addrs)"
  ;;
stop)
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
