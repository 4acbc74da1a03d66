# carehex — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO ?= go
DATA ?= ./data
ADDR ?= 127.0.0.1:8080

.PHONY: run build test test-faults test-browser check-generate generate vendor-web fuzz bench clean

## run: build and start the whole system (SQLite + in-process Redis) with demo data
run: build
	./bin/carehex serve --data $(DATA) --addr $(ADDR) --demo

build:
	$(GO) build -o bin/carehex ./cmd/carehex

# A failed start must stop the recipe: `eval "$$(script)"` alone would eval the
# empty output of a failed script and go on with the tests skipping. The
# assignment keeps the script's exit status; its stderr (the server's log tail)
# reaches the terminal. scripts/test-servers-check.sh proves the scripts fail.
START_SERVERS := servers="$$(scripts/test-servers.sh start)" && eval "$$servers"
START_CLUSTER := cluster="$$(scripts/redis-cluster.sh start)" && eval "$$cluster"

## test: install test dependencies (apt), start PostgreSQL and Redis on loopback, run everything
test:
	scripts/test-deps.sh
	$(MAKE) check-generate
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l . >&2; echo "gofmt: the files above are not formatted" >&2; exit 1; }
	scripts/test-servers-check.sh
	node --test web/unit/
	$(START_SERVERS) && $(START_CLUSTER) && \
		$(GO) test -count=1 -short -timeout 15m ./... && \
		$(GO) test -count=1 -timeout 30m -run '$(SLOW_TESTS)' -v ./cmd/carehex | scripts/test-summary.sh && \
		scripts/test-browser.sh && \
		scripts/fuzz.sh 10s

FAULT_TESTS := ^(TestFaultReplicas|TestRedisDown)$$
# SLOW_TESTS skip under -short: the fault tests, the simulated morning, the
# cross-replica push test, the login flood's /healthz latency (measured alone,
# not beside other packages' tests), and the simulated day settled and
# exported as open data and judged for fraud (one day played for all three: simulatedDay).
SLOW_TESTS := ^(TestFaultReplicas|TestRedisDown|TestSimulateSmall|TestPushAcrossReplicas|TestLoginFloodKeepsServerResponsive|TestSimulateThenSettle|TestSimulateThenOpenData|TestSimulatedDayRaisesNoFraud)$$
## test-faults: the fault tests alone (replicas paused and killed, Redis and PostgreSQL restarted), with their figures
test-faults:
	scripts/test-deps.sh
	$(START_SERVERS) && \
		$(GO) test -count=1 -timeout 30m -run '$(FAULT_TESTS)' -v ./cmd/carehex | scripts/test-summary.sh

## test-browser: the browser scenario (web/e2e) on the real binary, PostgreSQL and Redis; chromium from apt
test-browser:
	scripts/test-deps.sh
	$(START_SERVERS) && scripts/test-browser.sh

## generate: regenerate rpc/ code and the browser client web/static/gen/ from the .proto files with the pinned generators
generate:
	scripts/generate.sh

## check-generate: fail when regenerating changes the committed code
GENERATED := rpc/ web/static/gen/
check-generate: generate
	@git diff --exit-code -- $(GENERATED) || { echo "generated code in $(GENERATED) is stale: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo "generate left untracked files in $(GENERATED)" >&2; exit 1; }

## vendor-web: rewrite web/static/vendor/ (Leaflet, Zibo's division list) from the npm versions pinned in web/vendor-src/
vendor-web:
	scripts/vendor-web.sh

FUZZTIME ?= 30s
## fuzz: run each fuzz target for FUZZTIME (some need the test servers)
fuzz:
	$(START_SERVERS) && scripts/fuzz.sh $(FUZZTIME)

## bench: Go benchmarks (SQLite, PostgreSQL, redis-server) and the dispatch bench at 100,000 providers
bench: build
	scripts/test-deps.sh
	$(START_SERVERS) && $(GO) test -run '^$$' -bench . -benchtime 2s ./... && \
		./bin/carehex bench dispatch --redis-url "$$CAREHEX_TEST_REDIS_URL" --providers 100000

clean:
	rm -rf bin
