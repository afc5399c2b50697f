# pfaudit — see README.md.
GO      ?= go
BIN     ?= bin/pfaudit
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/pfaudit/pfaudit/cmd/pfaudit/cli.Version=$(VERSION)
# A static binary without symbol tables starts faster (no dynamic loader,
# fewer pages): `pfaudit config -x` must cost no more than `postconf -x`
# (scripts/bench-startup.sh).
CGO_ENABLED ?= 0
FUZZTIME ?= 20s
EXAMPLE ?= testdata/configs/docker-wide

.PHONY: all build test run bench fuzz lint clean

all: lint build test

build:
	CGO_ENABLED=$(CGO_ENABLED) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pfaudit

# The whole suite. Tests that need Postfix, root or network namespaces skip
# with a reason outside CI and fail under CI=true. Packages run one at a
# time (-p 1): probe tests add netns veth pairs to this host, which other
# packages' comparisons with postconf (host-derived mynetworks) would see
# come and go, and lab instances of several packages at once on two cores
# stretch postscreen's and smtpd's timers.
test: lint
	$(GO) test -count=1 -p 1 -timeout 20m ./...

# The main job on a bundled example configuration.
run: build
	./$(BIN) audit --no-probe -c $(EXAMPLE) || test $$? -eq 1

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./scripts/bench-config.sh
	./scripts/bench-audit.sh
	./scripts/bench-fleet.sh
	./scripts/bench-startup.sh
	./scripts/bench-scale.sh

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
