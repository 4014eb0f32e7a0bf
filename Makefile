# kube-sa-token build and test targets; `make help` lists them.
#
# The end-to-end tests and the demo run a real kube-apiserver, etcd and kubectl built from
# the versions pinned in e2e/go.mod into e2e/bin. That build takes several minutes with an
# empty Go build cache and is redone only when those versions change.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := bin
PLUGIN := $(BIN)/kube-sa-token

# release.mk provides `cross`; `test` runs it only when release.mk defines it.
-include release.mk
CROSS_GOAL := $(shell grep -qs '^cross:' release.mk && echo cross)

E2E_BIN := e2e/bin
E2E_TOOLS := $(addprefix $(E2E_BIN)/,etcd kube-apiserver kubectl)
# The stamp file holds the module versions the binaries in e2e/bin were built from.
E2E_STAMP := $(E2E_BIN)/.versions
E2E_TOOL_VERSIONS := $(shell awk '($$1 == "k8s.io/kubernetes" || $$1 == "go.etcd.io/etcd/server/v3") && $$2 ~ /^v/ { print $$1 "@" $$2 }' e2e/go.mod)
# Extra `go test` flags for the e2e module, e.g. E2E_FLAGS='-v -run TestKubectl'.
E2E_FLAGS ?=
E2E_TIMEOUT ?= 30m

# Rebuild the tools when the pinned versions differ from the stamp or a binary is missing.
ifneq ($(strip $(E2E_TOOL_VERSIONS)),$(strip $(file < $(E2E_STAMP))))
E2E_REBUILD := FORCE
endif
ifneq ($(wildcard $(E2E_TOOLS)),$(E2E_TOOLS))
E2E_REBUILD := FORCE
endif

.PHONY: help build unit e2e e2e-tools test demo bench clean FORCE

help:
	@echo 'make build      build the plugin into $(PLUGIN)'
	@echo 'make demo       run kubectl through the plugin against a throwaway control plane'
	@echo '                (KEEP=1 keeps it running until Ctrl-C)'
	@echo 'make unit       go vet and race-enabled unit tests of the root module'
	@echo 'make e2e        end-to-end tests against a real kube-apiserver (E2E_FLAGS, E2E_TIMEOUT)'
	@echo 'make e2e-tools  build etcd, kube-apiserver and kubectl into $(E2E_BIN)'
	@echo 'make test       unit, e2e$(if $(CROSS_GOAL), and cross)'
	@echo 'make bench      time a cache hit as a whole process (docs/benchmarks.md)'

build:
	$(GO) build -o $(PLUGIN) .

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

e2e-tools: $(E2E_STAMP)

$(E2E_STAMP): $(E2E_REBUILD)
	e2e/build-tools.sh $(E2E_BIN)
	echo '$(E2E_TOOL_VERSIONS)' > $@

e2e: build e2e-tools
	cd e2e && $(GO) vet ./...
	cd e2e && KUBE_SA_TOKEN_BIN=$(abspath $(PLUGIN)) \
		$(GO) test -count=1 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) ./...

test: unit e2e $(CROSS_GOAL)

# The demo runs as a built binary, not through `go run`, so that Ctrl-C and SIGTERM reach
# it directly and it can stop the control plane.
demo: build e2e-tools
	cd e2e && $(GO) build -o bin/demo ./cmd/demo
	e2e/bin/demo -plugin $(PLUGIN) -bin-dir $(E2E_BIN) $(if $(KEEP),-keep)

# The cache read in-process, then a whole cache-hit process beside a minimal Go
# program (docs/benchmarks.md records the figures). BENCH_RUNS sets the runs of each.
BENCH_RUNS ?= 500
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./cache/
	$(GO) run ./testdata/bench/hitpath -runs $(BENCH_RUNS)

clean:
	rm -rf $(BIN) $(E2E_BIN)

FORCE:
