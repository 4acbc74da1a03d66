#!/usr/bin/env bash
# Filters `go test -v` output down to the tests' own log lines (figures,
# faults, failures) and the verdicts, dropping the servers' log lines, and
# keeps go test's exit status (use under `set -o pipefail`).
set -uo pipefail
grep --line-buffered -v -e '^=== ' -e 'server: {' -e '^        {"time"' || true
