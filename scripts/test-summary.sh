#!/usr/bin/env bash
# Filters `go test -v` output down to the tests' own log lines (figures,
# faults, failures) and the verdicts, dropping the servers' log lines (and
# their continuation lines), and keeps go test's exit status when used under
# `set -o pipefail` (the Makefile's shell flags).
set -uo pipefail
grep --line-buffered -v -e '^=== ' -e ': server: ' -e '^        [^ -]' || true
