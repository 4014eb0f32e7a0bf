# Cross-compilation without GoReleaser. The Makefile includes this file, and it
# also runs on its own: `make -f release.mk cross`.
#
# `cross` builds every release target with the flags that .goreleaser.yaml uses
# and vets the packages for windows and darwin, so code behind build tags for
# those platforms is type-checked on a linux machine. release_test.go fails when
# CROSS_TARGETS and the goos x goarch matrix of .goreleaser.yaml differ.

GO ?= go

# Release targets as GOOS/GOARCH pairs. Keep this on one logical line (a
# trailing backslash continues it), because release_test.go parses it.
CROSS_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

# Platforms vetted in addition to the host's own `go vet` in the unit target.
CROSS_VET_GOOS := windows darwin

CROSS_DIR := dist/cross

# GoReleaser's {{.Version}} is the tag without its leading "v", so the same is
# done here. Outside a git checkout the version is "dev".
CROSS_VERSION := $(patsubst v%,%,$(shell git describe --tags --always --dirty 2>/dev/null || echo dev))
CROSS_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo none)
# RFC 3339 in UTC, the format of GoReleaser's {{.Date}}.
CROSS_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

CROSS_LDFLAGS := -s -w -X main.version=$(CROSS_VERSION) -X main.commit=$(CROSS_COMMIT) -X main.date=$(CROSS_DATE)

# One phony goal per target, e.g. cross-linux_amd64, so `make -j` builds them in
# parallel.
CROSS_BUILD_GOALS := $(addprefix cross-,$(subst /,_,$(CROSS_TARGETS)))
CROSS_VET_GOALS := $(addprefix cross-vet-,$(CROSS_VET_GOOS))

.PHONY: cross cross-clean $(CROSS_BUILD_GOALS) $(CROSS_VET_GOALS)

cross: $(CROSS_BUILD_GOALS) $(CROSS_VET_GOALS)

# $* is GOOS_GOARCH; windows binaries get the .exe suffix.
$(CROSS_BUILD_GOALS): cross-%:
	CGO_ENABLED=0 GOOS=$(word 1,$(subst _, ,$*)) GOARCH=$(word 2,$(subst _, ,$*)) \
		$(GO) build -trimpath -ldflags '$(CROSS_LDFLAGS)' \
		-o $(CROSS_DIR)/$*/kube-sa-token$(if $(filter windows_%,$*),.exe) .

$(CROSS_VET_GOALS): cross-vet-%:
	CGO_ENABLED=0 GOOS=$* $(GO) vet ./...

cross-clean:
	rm -rf $(CROSS_DIR)
