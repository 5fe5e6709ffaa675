# Hearsay's everyday commands. `make test` is what CI and newcomers run.

GO        ?= go
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
COUNT     ?= 1

.PHONY: all test vet fmt-check race fuzz bench bench-compare smoke clean

all: test

## test: vet, gofmt check, race-enabled tests (with every fuzz target's seed corpus and the layering test)
test: vet fmt-check race

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# go test runs each Fuzz function over its seed corpus (f.Add seeds and
# testdata/fuzz/), so the seed corpora are part of this target.
race:
	$(GO) test -race -count=1 ./...

## fuzz: each fuzz target for FUZZTIME (default 30s)
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## bench: every benchmark with -benchmem; COUNT=6 and benchstat for comparisons
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -count=$(COUNT) ./...

clean:
	$(GO) clean -testcache -fuzzcache
