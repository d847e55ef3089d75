# cairn — build, test, benchmark.
GO      ?= go
BIN     ?= bin/cairn
# Two cores on CI: two packages at a time, each test binary may use both.
GOTEST  ?= $(GO) test -p 2 -timeout 30m
FUZZTIME ?= 5s

.PHONY: all build test test-go fuzz-brief lint vet demo bench soak clean deps

all: build

build:
	$(GO) build -o $(BIN) ./cmd/cairn

# make test: everything CI runs. Installs what the tests need on a fresh
# machine (scripts/test-deps.sh is idempotent), then vet, arrows, unit and
# end-to-end tests, and a brief run of every fuzz target on its corpus.
test: deps vet test-go fuzz-brief

deps:
	bash scripts/test-deps.sh

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

test-go: build
	CAIRN_BIN=$(CURDIR)/$(BIN) $(GOTEST) ./...

# Each fuzz target runs briefly; the corpus lives in testdata/fuzz.
fuzz-brief:
	bash scripts/fuzz.sh $(FUZZTIME)

lint: vet
	$(GO) test ./internal/arch/

demo: build
	bash scripts/demo.sh

bench: build
	bash scripts/bench.sh

soak:
	FUZZTIME=5m bash scripts/fuzz.sh 5m
	CAIRN_SOAK=1 $(GOTEST) -run 'Soak|Kill' ./...

clean:
	rm -rf bin
