# Targets: build, unit, e2e, test (unit + e2e + cross), demo, cross, bench.
# The e2e helper owns e2e/test/demo; the release helper owns cross.
GO ?= go
BIN := bin

.PHONY: build unit test cross

build:
	$(GO) build -o $(BIN)/kube-sa-token .

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test: unit
