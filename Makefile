# Firebreak. `make run` starts everything on this machine; `make test`
# installs what the tests need, then runs them.

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
BIN       := bin/firebreak
PKGS      := ./...
FUZZTIME  ?= 10s
WORKFLOWCHECK_VERSION := v0.6.0
WORKFLOWCHECK := $(GOBIN)/workflowcheck

# Debian packages the tests run for real.
APT_PACKAGES := prometheus
APT_BINARIES := /usr/bin/prometheus

export GOFLAGS ?= -buildvcs=false

.PHONY: all build run test test-deps lint unit fuzz fuzz-long clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/firebreak

## run: build, then start firebreak dev with the shipped catalog
run: build
	./$(BIN) dev

## test-deps: Debian packages and Go tools the tests need (idempotent)
test-deps: $(WORKFLOWCHECK)
	@missing=""; for b in $(APT_BINARIES); do [ -x "$$b" ] || missing="yes"; done; \
	if [ -n "$$missing" ]; then \
		echo ">> installing Debian packages: $(APT_PACKAGES)"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(WORKFLOWCHECK):
	$(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## lint: gofmt, go vet and workflowcheck must be clean
lint: $(WORKFLOWCHECK)
	@out="$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(WORKFLOWCHECK) ./workflows/...

## unit: every test package
unit:
	$(GO) test -count=1 -timeout 20m $(PKGS)

## fuzz: each fuzz target briefly (FUZZTIME each)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./runbooks

fuzz-long:
	$(MAKE) fuzz FUZZTIME=5m

test: test-deps lint unit fuzz

clean:
	rm -rf bin
