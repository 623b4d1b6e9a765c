# hookbridge: `make run` runs the whole system locally, `make test` runs every test.

GO        ?= go
# -trimpath keeps where the checkout is out of every build and test binary,
# so a fresh clone of the repository (as CI makes) reuses the build cache of
# an earlier one instead of compiling its own packages again.
export GOFLAGS := -trimpath $(GOFLAGS)
BIN       := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal CLI: the one on PATH, else one built from the Go module proxy into ./bin.
TEMPORAL  ?= $(or $(shell command -v temporal 2>/dev/null),$(BIN)/temporal)
export TEMPORAL_CLI := $(TEMPORAL)

.PHONY: all build run test vet bench demo clean temporal-cli chromium fuzz temporal-server postgresql promtool test-unit test-e2e test-cluster test-deploy examples

# Fuzz targets of the receiver: signature verification, envelope parsing and
# the whole handler. `make test` runs each briefly; `make fuzz` longer.
# Budgets are execution counts, not durations: Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" failure when a -fuzztime
# duration expires mid-run (golang/go#75804, fixed in Go 1.27); a count has no
# deadline to race.
FUZZ_TARGETS := FuzzVerify FuzzVerifySignaturesAndSecrets FuzzParseEvent FuzzHandler
FUZZTIME ?= 500000x
# A prefix for each fuzzing go test (make test: nice -n 19, see test).
FUZZ_PRIORITY ?=

# apt-get needs root; use sudo when not root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

all: build

# -buildvcs=auto: the binaries name their commit in --version even where
# GOFLAGS turns VCS stamping off. The shipped commands only: cmd/bench runs
# with go run.
build:
	$(GO) build -buildvcs=auto -o $(BIN)/ ./cmd/hookbridge ./cmd/receiver ./cmd/worker

$(BIN)/temporal:
	@echo "building Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (about 6 minutes the first time)..."
	GOBIN=$(BIN) $(GO) install -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$(TEMPORAL_CLI_VERSION:v%=%)" github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# Temporal server and its SQL schema tool for internal/cluster's production-shaped
# cluster, at every supported release: the releases and the Go toolchain that
# builds each are named once, in internal/cluster/versions.mk, which
# internal/cluster embeds too. Each binary is named after its release
# (bin/temporal-server-v1.32.2), so that releases coexist and stay built.
include internal/cluster/versions.mk
TEMPORAL_SERVER_VERSIONS := $(TEMPORAL_SERVER_VERSION) $(TEMPORAL_SERVER_OLDEST_VERSION)
# $(call server_toolchain,release): the GOTOOLCHAIN that builds the release.
server_toolchain = $(if $(filter $(1),$(TEMPORAL_SERVER_VERSION)),$(TEMPORAL_SERVER_VERSION_GOTOOLCHAIN),$(TEMPORAL_SERVER_OLDEST_VERSION_GOTOOLCHAIN))

# The server and its SQL tool of the release $*, built by one go install:
# the tool's ~750 packages are nearly all the server's too, and two go
# commands side by side (make -j) would each compile them. go install names
# the binaries server and sql, so they are built into a temporary GOBIN and
# renamed.
$(BIN)/temporal-server-% $(BIN)/temporal-sql-tool-%:
	@echo "building Temporal server $* and its SQL tool into ./bin (several minutes the first time)..."
	@mkdir -p $(BIN)
	@tmp=$$(mktemp -d $(BIN)/.gobin.XXXXXX) && \
	{ GOTOOLCHAIN=$(call server_toolchain,$*) GOBIN=$$tmp $(GO) install \
		go.temporal.io/server/cmd/server@$* go.temporal.io/server/cmd/tools/sql@$* && \
	mv $$tmp/server $(BIN)/temporal-server-$* && mv $$tmp/sql $(BIN)/temporal-sql-tool-$*; \
	status=$$?; rm -rf $$tmp; exit $$status; }

temporal-server: $(foreach v,$(TEMPORAL_SERVER_VERSIONS),$(BIN)/temporal-server-$(v) $(BIN)/temporal-sql-tool-$(v))

# Only build the CLI when none is on PATH.
temporal-cli: $(if $(filter $(BIN)/temporal,$(TEMPORAL)),$(BIN)/temporal)

run: build temporal-cli
	$(BIN)/hookbridge dev

# A guided tour on the local stack (simulator mode), which keeps running afterwards.
demo: build temporal-cli
	$(BIN)/hookbridge demo

# stage runs the shell commands $(2) as one stage of make test: their output,
# then one line with the stage's name $(1), its result and its wall time.
stage = began=$$(date +%s); ( $(2) ); status=$$?; \
	echo "== $(1): $$([ $$status -eq 0 ] && echo ok || echo FAILED) in $$(($$(date +%s) - began))s"; exit $$status

vet:
	@$(call stage,vet,test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }; \
		$(GO) vet ./... && \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && \
		$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...)

# Debian's Chromium drives the Temporal UI test; installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the UI test..."; \
		$(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }; }

# Debian's PostgreSQL backs internal/cluster's Temporal server; installed when missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql for the Temporal cluster tests..."; \
		$(SUDO) apt-get install -y -qq postgresql >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }; }

# Debian's prometheus package has promtool, which runs the alert rules' unit
# tests; installed when missing (without its recommended node exporter).
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
		echo "installing Debian's prometheus for promtool..."; \
		$(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; }; }

# Every check and test, in stages that each print their time: vet while the
# Temporal binaries build (it needs none of them); the Debian packages; the
# stock-cluster suite, which mostly waits (a cluster's start, a two-minute
# OpenAI outage), beside the CPU-bound unit tests and deployment checks; then
# the dev-server suite without competition (its calls must be answered within
# 5 s and its faults drained: beside the cluster suite on 2 cores they were
# not), and fuzzing at the lowest priority beside it: the suite's load tests
# run alone and leave about a core idle for two minutes, and fuzzing has a
# budget of executions, not a deadline.
test:
	@$(MAKE) --no-print-directory -j3 -O vet temporal-cli temporal-server
	@$(MAKE) --no-print-directory chromium postgresql promtool
	@$(MAKE) --no-print-directory -j3 -O test-cluster test-unit test-deploy
	@$(MAKE) --no-print-directory -j2 -O test-e2e fuzz FUZZTIME=20000x FUZZ_PRIORITY="nice -n 19"

# The production-shaped suite on a stock Temporal server (internal/cluster).
CLUSTER_TESTS := TestProductionTemporal|TestClusterBlueGreenUpgrade

# Every package but the end-to-end suites and the deployment checks, under
# the race detector; then the allocation tests, which the race detector's
# own allocations would fail (built with !race).
test-unit:
	@$(call stage,unit tests (race detector),$(GO) test -race -count=1 -timeout 10m $$($(GO) list ./... | grep -v -e '/e2e$$' -e '/deploy$$') && \
		$(GO) test -count=1 -run 'NotAllocate' ./internal/signing)

# The example workers' npm packages, which e2e's example tests run: npm ci
# once per package-lock.json (npm writes node_modules/.package-lock.json).
# The tests compile the example themselves.
EXAMPLE_TS := examples/typescript
examples: $(EXAMPLE_TS)/node_modules/.package-lock.json
$(EXAMPLE_TS)/node_modules/.package-lock.json: $(EXAMPLE_TS)/package-lock.json
	cd $(EXAMPLE_TS) && npm ci --no-audit --no-fund

# Four tests at a time: the ones that call t.Parallel mostly wait.
test-e2e: examples
	@$(call stage,end-to-end tests on the dev server,$(GO) test -count=1 -timeout 14m -parallel 4 -skip '$(CLUSTER_TESTS)' ./e2e)

# Its three tests at once (each starts stock clusters: PostgreSQL and four
# Temporal services): with two, the production test (over 3 minutes, the
# others about 1.5 and 1) waited for a slot as often as not.
test-cluster:
	@$(call stage,end-to-end tests on a stock Temporal server,$(GO) test -count=1 -timeout 14m -parallel 3 -run '$(CLUSTER_TESTS)' -v ./e2e)

# What deploy/ ships: docker-compose.yml loaded by the compose-spec loader
# and the Dockerfile; the Helm chart rendered for several value sets, each
# object decoded strictly into its Kubernetes type, and linted; the alert
# rules' promtool unit tests; the dashboard's and rules' PromQL; README's
# event table against hookbridge.Kinds(). No race
# detector: the checks are sequential, and Helm's packages are big to build
# twice. (That the metrics they name exist is e2e's
# TestDashboardAndAlertsWatchExportedMetrics.)
test-deploy: promtool
	@$(call stage,deployment and documentation checks (Helm chart, compose, dashboard, alert rules, README),$(GO) test -count=1 -timeout 10m ./deploy)

fuzz:
	@$(call stage,fuzzing $(FUZZ_TARGETS) for $(FUZZTIME) each,for target in $(FUZZ_TARGETS); do \
		$(FUZZ_PRIORITY) $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) ./receiver || exit 1; \
	done)

# Ratios against baselines measured in the same run (about 9 minutes on 2 cores);
# the report goes to stdout and BENCHMARKS.md. `go run ./cmd/bench -quick` is a smoke run.
bench: temporal-cli temporal-server postgresql
	$(GO) run ./cmd/bench -out BENCHMARKS.md

clean:
	rm -rf $(BIN)/hookbridge $(BIN)/receiver $(BIN)/worker
