# Firebreak. `make run` starts everything on this machine; `make test`
# installs what the tests need, then runs them.

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
BIN       := bin/firebreak
PKGS      := ./...
FUZZTIME  ?= 10s
WORKFLOWCHECK_VERSION := v0.6.0
WORKFLOWCHECK := $(GOBIN)/workflowcheck
HELM_VERSION  := v4.3.1

# Heavy tool builds (kube, kwok, helm) are cached by version outside the
# clone, so a fresh clone on the same machine reuses them.
TOOLS_CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/firebreak
HELM          := $(TOOLS_CACHE)/helm-$(HELM_VERSION)/helm

# Debian packages the tests run for real.
APT_PACKAGES := prometheus prometheus-alertmanager etcd-server postgresql-15 chromium
APT_BINARIES := /usr/bin/prometheus /usr/bin/prometheus-alertmanager /usr/bin/etcd /usr/lib/postgresql/15/bin/initdb /usr/bin/chromium

export GOFLAGS ?= -buildvcs=false

.PHONY: all build run sandbox test test-deps lint unit fuzz fuzz-brief fuzz-long bench histories clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/firebreak

## run: build, then start firebreak dev with the shipped catalog
## (CONFIG=path passes --config, e.g. the one `make sandbox` prints)
CONFIG ?=
run: build
	./$(BIN) dev $(if $(CONFIG),--config $(CONFIG))

## sandbox: a local cluster (kwok), Chaos Mesh's controller, Prometheus and
## Alertmanager for the shipped catalog; prints what to run next; Ctrl-C
## stops everything and removes what it wrote
sandbox: kube-bins chaosmesh-bin apt-deps
	$(GO) build -o bin/firebreak-sandbox ./cmd/firebreak-sandbox
	./bin/firebreak-sandbox

## test-deps: Debian packages and Go tools the tests need (idempotent)
test-deps: $(WORKFLOWCHECK) kube-bins chaosmesh-bin temporal-bins $(HELM) apt-deps

.PHONY: apt-deps
apt-deps:
	@missing=""; for b in $(APT_BINARIES); do [ -x "$$b" ] || missing="yes"; done; \
	if [ -n "$$missing" ]; then \
		echo ">> installing Debian packages: $(APT_PACKAGES)"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(WORKFLOWCHECK):
	$(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

# helm renders deploy/helm/firebreak in tests (built once, about 3 minutes).
$(HELM):
	GOBIN=$(@D) nice $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

# >>> kube: a real Kubernetes control plane for the tests >>>
# internal/testenv/kube.go runs etcd (Debian's etcd-server), kube-apiserver,
# kube-controller-manager and kwok (fake nodes and pods). The two Kubernetes
# binaries are built from k8s.io/kubernetes through the helper module
# tools/kube (about 5 minutes cold), only when missing or when the version
# in tools/kube/go.mod changes; warm runs are instant. `make kube-clean`
# forces a rebuild.
KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2 }' tools/kube/go.mod)
KWOK_VERSION := v0.8.0
KUBE_CACHE   := $(TOOLS_CACHE)/kube-$(KUBE_VERSION)
KUBE_BIN     := $(KUBE_CACHE)/bin
KWOK_BIN     := $(TOOLS_CACHE)/kwok-$(KWOK_VERSION)
KWOK_STAGES  := $(KWOK_BIN)/stages
KUBE_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 2,$(subst ., ,$(KUBE_VERSION:v%=x.%))) \
	-X k8s.io/component-base/version.gitMinor=$(word 3,$(subst ., ,$(KUBE_VERSION:v%=x.%))) \
	-X k8s.io/component-base/version.gitTreeState=clean

.PHONY: kube-bins kube-clean

## kube-bins: kube-apiserver, kube-controller-manager, kwok and kwok's stages in $(TOOLS_CACHE)
kube-bins: $(KUBE_BIN)/kube-apiserver $(KUBE_BIN)/kube-controller-manager $(KWOK_BIN)/kwok $(KWOK_STAGES)/.done

# The directories are named by version, so a version bump rebuilds.
$(KUBE_BIN)/kube-apiserver $(KUBE_BIN)/kube-controller-manager:
	@echo ">> building $(@F) $(KUBE_VERSION) (takes minutes the first time)"
	nice $(GO) build -C tools/kube -trimpath -ldflags '$(KUBE_LDFLAGS)' -o $@ k8s.io/kubernetes/cmd/$(@F)

$(KWOK_BIN)/kwok:
	GOBIN=$(KWOK_BIN) nice $(GO) install sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION)

# kwok's own Stage YAMLs: nodes and pods become Ready at once; nodes keep
# their lease.
$(KWOK_STAGES)/.done:
	@set -e; dir=$$(cd / && GOFLAGS= $(GO) mod download -json sigs.k8s.io/kwok@$(KWOK_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir"; rm -rf $(KWOK_STAGES); mkdir -p $(KWOK_STAGES); \
	for s in node/fast node/heartbeat-with-lease pod/fast; do \
		for f in $$dir/kustomize/stage/$$s/*.yaml; do \
			[ "$$(basename $$f)" = kustomization.yaml ] || install -m 0644 $$f $(KWOK_STAGES)/$$(echo $$s | tr / -)-$$(basename $$f); \
		done; \
	done; \
	touch $@; echo ">> kwok stages in $(KWOK_STAGES)"

kube-clean:
	rm -rf $(KUBE_CACHE) $(KWOK_BIN)

# Tests and the bench find the cached tools through these.
export FIREBREAK_KUBE_BIN    ?= $(KUBE_BIN)
export FIREBREAK_KWOK_BIN    ?= $(KWOK_BIN)/kwok
export FIREBREAK_KUBE_STAGES ?= $(KWOK_STAGES)
export FIREBREAK_HELM_BIN    ?= $(HELM)
# <<< kube <<<

# >>> temporal: a real Temporal cluster for the production-shape tests >>>
# internal/testenv/cluster.go runs Debian's PostgreSQL 15 and three Temporal
# server processes. The server and its SQL schema tool are built from
# go.temporal.io/server at the version the main module embeds, through the
# helper module tools/temporal, into a version-named cache directory; the
# helper pins the main module's build list, so the build reuses the
# packages `go test` compiles (seconds warm). `make cluster` runs the same
# cluster by hand.
TEMPORAL_VERSION := $(shell awk '$$1 == "go.temporal.io/server" { print $$2 }' go.mod)
TEMPORAL_CACHE   := $(TOOLS_CACHE)/temporal-$(TEMPORAL_VERSION)
TEMPORAL_SERVER  := $(TEMPORAL_CACHE)/temporal-server
TEMPORAL_SQLTOOL := $(TEMPORAL_CACHE)/temporal-sql-tool

.PHONY: temporal-bins cluster

## temporal-bins: the Temporal server and its SQL schema tool in $(TOOLS_CACHE)
temporal-bins: $(TEMPORAL_SERVER) $(TEMPORAL_SQLTOOL)

$(TEMPORAL_SERVER) $(TEMPORAL_SQLTOOL):
	@helper=$$(awk '$$1 == "go.temporal.io/server" { print $$2 }' tools/temporal/go.mod); \
	if [ "$$helper" != "$(TEMPORAL_VERSION)" ]; then \
		echo "tools/temporal/go.mod has go.temporal.io/server $$helper, go.mod $(TEMPORAL_VERSION): update tools/temporal"; exit 1; fi
	@echo ">> building $(@F) $(TEMPORAL_VERSION)"
	mkdir -p $(@D)
	nice $(GO) build -C tools/temporal -o $@.tmp go.temporal.io/server/cmd/$(if $(filter %sql-tool,$@),tools/sql,server)
	mv $@.tmp $@

## cluster: PostgreSQL 15 and a three-node Temporal cluster on loopback;
## prints TEMPORAL_ADDRESS= once it accepts workflows; Ctrl-C stops it
## (TLS=1: mutual TLS, and the client's files as TEMPORAL_TLS_*)
TLS ?=
cluster: temporal-bins apt-deps
	$(GO) build -o bin/firebreak-cluster ./cmd/firebreak-cluster
	./bin/firebreak-cluster $(if $(TLS),-tls)

export FIREBREAK_TEMPORAL_BIN ?= $(TEMPORAL_CACHE)
# <<< temporal <<<

# >>> chaosmesh: Chaos Mesh's real controller for the tests and the sandbox >>>
# internal/testenv/chaosmesh_controller.go runs chaos-controller-manager
# against the tests' control plane. It is built from the chaos-mesh main
# module through the helper module tools/chaosmesh (about 7 minutes cold on
# 2 cores), only when missing or when the version in tools/chaosmesh/go.mod
# changes; its CRDs (manifests/crd.yaml) come from the same module version.
# `make chaosmesh-clean` forces a rebuild.
CHAOSMESH_VERSION := $(shell awk '$$1 == "github.com/chaos-mesh/chaos-mesh" && $$2 ~ /^v/ { print $$2; exit }' tools/chaosmesh/go.mod)
CHAOSMESH_CACHE   := $(TOOLS_CACHE)/chaosmesh-$(CHAOSMESH_VERSION)
CHAOSMESH_BIN     := $(CHAOSMESH_CACHE)/chaos-controller-manager
CHAOSMESH_CRDS    := $(CHAOSMESH_CACHE)/crd.yaml

.PHONY: chaosmesh-bin chaosmesh-clean

## chaosmesh-bin: chaos-controller-manager and its CRDs in $(TOOLS_CACHE)
chaosmesh-bin: $(CHAOSMESH_BIN) $(CHAOSMESH_CRDS)

$(CHAOSMESH_BIN):
	@echo ">> building chaos-controller-manager $(CHAOSMESH_VERSION) (takes minutes the first time)"
	CGO_ENABLED=0 nice $(GO) build -C tools/chaosmesh -trimpath -ldflags '-s -w' -o $@.tmp github.com/chaos-mesh/chaos-mesh/cmd/chaos-controller-manager
	mv $@.tmp $@

$(CHAOSMESH_CRDS):
	@set -e; dir=$$($(GO) mod download -C tools/chaosmesh -json github.com/chaos-mesh/chaos-mesh | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir"; mkdir -p $(@D); install -m 0644 $$dir/manifests/crd.yaml $@.tmp; mv $@.tmp $@

chaosmesh-clean:
	rm -rf $(CHAOSMESH_CACHE)

export FIREBREAK_CHAOSMESH_BIN  ?= $(CHAOSMESH_BIN)
export FIREBREAK_CHAOSMESH_CRDS ?= $(CHAOSMESH_CRDS)
# <<< chaosmesh <<<

## lint: gofmt, go vet and workflowcheck must be clean
lint: $(WORKFLOWCHECK)
	@out="$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(WORKFLOWCHECK) ./workflows/...

## unit: every test package
unit:
	$(GO) test -count=1 -timeout 20m $(PKGS)

## fuzz: every fuzz target for FUZZTIME each (`make test` runs their seed
## corpora as tests, plus the runbook parser briefly). FUZZTIME may be a
## count such as 50000x; a bare "context deadline exceeded" with no new file
## under testdata/fuzz/ at the end of a timed run is the Go bug noted below.
FUZZ_TARGETS := FuzzParse:./runbooks FuzzParse:./experiments FuzzMessage:./internal/ingress/alertmanager \
	FuzzDecode:./internal/ingress/pagerduty FuzzTokenize:./internal/ingress/slack
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo ">> $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:}; \
	done

## fuzz-brief: the two parsers, by count rather than by time: with a time
## budget Go 1.26's fuzz coordinator can report "context deadline exceeded"
## as a failure when the budget ends mid-input (golang/go#75804, fixed in
## 1.27), which failed CI once with no crasher written. About 10 s each here.
fuzz-brief:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20000x ./runbooks
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 15000x ./experiments

fuzz-long:
	$(MAKE) fuzz FUZZTIME=5m

test: test-deps lint unit fuzz-brief

## histories: run the end-to-end tests, writing every workflow history they
## produce to .cache/histories/<test>/ (see "Changing a workflow" in the README)
histories: test-deps
	rm -rf .cache/histories
	FIREBREAK_CAPTURE_HISTORIES=$(CURDIR)/.cache/histories $(GO) test -count=1 -timeout 30m ./tests/

## bench: performance figures against the bare engine, measured in one run
## (prints a table, writes bench/results.json); not part of `make test`
BENCH_RUNS ?= 3
bench: build kube-bins temporal-bins apt-deps
	$(GO) run ./tests/bench -runs $(BENCH_RUNS) -firebreak $(BIN) -out bench/results.json
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/guard ./runbooks

clean:
	rm -rf bin
