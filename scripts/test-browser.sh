#!/usr/bin/env bash
# Browser test of the pages (web/e2e): installs chromium (apt) and the pinned
# playwright-core (npm ci), starts the real binary on a free port against the
# test PostgreSQL and Redis (CAREHEX_TEST_POSTGRES_URL / CAREHEX_TEST_REDIS_URL
# from scripts/test-servers.sh; without them SQLite and the in-process Redis,
# and with CI=true their absence is a failure), seeds it, runs the scenario
# and stops the server. Screenshots land in web/e2e/screenshots/; the three
# the README shows are copied to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
# The pages are in Chinese: without a CJK font the screenshots show boxes.
fc-list 2>/dev/null | grep -qi 'CJK' || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-browser: missing ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "test-browser: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "test-browser: playwright-core needs Node.js 20 or newer; found $(node --version)" >&2
  exit 1
fi

if [ -z "${CAREHEX_TEST_POSTGRES_URL:-}" ] || [ -z "${CAREHEX_TEST_REDIS_URL:-}" ]; then
  if [ "${CI:-}" = true ]; then
    echo "test-browser: CAREHEX_TEST_POSTGRES_URL and CAREHEX_TEST_REDIS_URL must be set in CI (eval \"\$(scripts/test-servers.sh start)\")" >&2
    exit 1
  fi
  echo "test-browser: no test servers given; using SQLite and the in-process Redis" >&2
fi

(cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)
rm -rf web/e2e/screenshots
go build -o bin/carehex ./cmd/carehex

run="$(mktemp -d)"
db=""
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$db" ]; then psql -q "$CAREHEX_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
  rm -rf "$run"
}
trap cleanup EXIT

# A fresh database and a zone of its own, so nothing else touches this run.
export CAREHEX_ZONE="e2e$$"
unset CAREHEX_DATABASE_URL CAREHEX_REDIS_URL
if [ -n "${CAREHEX_TEST_POSTGRES_URL:-}" ] && [ -n "${CAREHEX_TEST_REDIS_URL:-}" ]; then
  db="carehex_e2e_$$"
  psql -q "$CAREHEX_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
  base="${CAREHEX_TEST_POSTGRES_URL%%\?*}"
  export CAREHEX_DATABASE_URL="${base%/*}/$db${CAREHEX_TEST_POSTGRES_URL#"$base"}"
  export CAREHEX_REDIS_URL="$CAREHEX_TEST_REDIS_URL"
fi

password="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "$password" | bin/carehex user add --data "$run" --username e2e --role operator --password-stdin >/dev/null
# A supervisor, to check the console is read-only for them (console.test.js).
supervisor_password="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "$supervisor_password" | bin/carehex user add --data "$run" --username e2e-supervisor --role supervisor --password-stdin >/dev/null
# An organisation's dispatcher (org.test.js), of the default organisation, with the operator's password.
echo "$password" | bin/carehex user add --data "$run" --username e2e-org --role org_dispatcher --org org_default --password-stdin >/dev/null
# Its administrator, for her organisation's slice of the dashboard (orgdash.test.js).
echo "$password" | bin/carehex user add --data "$run" --username e2e-org-admin --role org_admin --org org_default --password-stdin >/dev/null

# An organisation whose contract requires the elder's service card (card.test.js).
export CAREHEX_E2E_CARD_ORG="服务卡试点服务中心" && bin/carehex org add --data "$run" --name "$CAREHEX_E2E_CARD_ORG" --services DL-MEAL-DELIVERY --price-fen 4000 --requires-card-scan >/dev/null

# The CTI edge's shared secret: the server checks the fake PBX's signatures
# (hotline.test.js) with it, and the test signs with it.
export CAREHEX_FRAUD_EVERY=2s # fraud.test.js: the fraud scan raises its flags within seconds
export CAREHEX_CTI_SECRET="cti-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

# Offers last 2 minutes so a slow machine has time to look at the candidates;
# an emergency nobody accepts escalates after 45 s instead of 3 minutes.
CAREHEX_OFFER_TTL=2m CAREHEX_EMERGENCY_DEADLINE=45s bin/carehex serve --data "$run" --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 >"$run/stdout" 2>"$run/server.log" &
pid=$!
url=""
for _ in $(seq 300); do
  url="$(sed -n 's/^carehex listening on //p' "$run/stdout")"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "test-browser: server exited" >&2; cat "$run/server.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { echo "test-browser: server did not print its URL" >&2; exit 1; }
echo "test-browser: carehex at $url" >&2

CAREHEX_URL="$url" E2E_USER=e2e E2E_PASSWORD="$password" node web/e2e/seed.js >"$run/seed.json"
status=0
(cd web/e2e && CAREHEX_E2E_SEED="$run/seed.json" E2E_SUPERVISOR=e2e-supervisor E2E_SUPERVISOR_PASSWORD="$supervisor_password" \
  npm test --silent) || status=$?
if [ "$status" != 0 ]; then
  echo "test-browser: failed; last server log lines:" >&2
  grep -v '"msg":"rpc"' "$run/server.log" | tail -n 40 >&2
  exit "$status"
fi

mkdir -p docs/screenshots
for f in console phone family; do cp "web/e2e/screenshots/$f.png" "docs/screenshots/$f.png"; done
# Planned care (web/e2e/plan.test.js): the plan editor, the roster view, the family's week.
for f in plan roster family-upcoming; do cp "web/e2e/screenshots/$f.png" "docs/screenshots/$f.png"; done
