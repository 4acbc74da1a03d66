#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: redis-server,
# PostgreSQL and protoc. Runs apt-get update once, only when something is missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
# node runs the phone queue unit tests and holds ports in scripts/test-servers-check.sh.
command -v node >/dev/null || need+=(nodejs)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "test-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
