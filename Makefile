# Hearsay's everyday commands. `make test` is what CI and newcomers run.

GO        ?= go
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
COUNT     ?=
SMOKE_N   ?= 500

.PHONY: all test vet fmt-check race sim-large fuzz bench bench-compare smoke figures clean

all: test

## test: vet, gofmt check, race-enabled tests (with every fuzz target's seed corpus and the layering test), the largest simulations
test: vet fmt-check race sim-large

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# go test runs each Fuzz function over its seed corpus (f.Add seeds and
# testdata/fuzz/), so the seed corpora are part of this target.
race:
	$(GO) test -race -count=1 -timeout 30m ./...

# The simulator runs a whole cluster on one goroutine, so the race detector
# finds nothing in its largest runs that the smaller ones miss: the race
# run skips these (engine/sim skipLargeUnderRace) and they run here
# without it, in a fifth of the time.
# engine/sim TestSimLargeListed checks that this list names every test
# that calls skipLargeUnderRace.
SIM_LARGE = ^(TestMassCrash|TestMassCrash3000|TestOneWayCut|TestSlowNodesThroughBursts|TestFrequentLossBursts|TestSlowNodesFrequentBursts|TestGrayNodesStayRemoved|TestSlowNodesTwoSeconds|TestFlakyNodesRemovedOnce|TestUniformLossNoFalseDeath|TestBlipsNeverKill|TestFakeMemberFlood|TestHealWithoutStorm|TestThreeWaySplitHealsFast|TestPausedNodeNotDead|TestCostDeterministic|TestOneWayHealUnderLoss|TestSlowBesideFlaky|TestSlowNodesWithLoss)$$
sim-large:
	$(GO) test -count=1 -timeout 20m -run '$(SIM_LARGE)' -v ./engine/sim/

## fuzz: each fuzz target for FUZZTIME (default 30s)
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## bench: every benchmark with -benchmem, COUNT times (default 1)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -count=$(or $(COUNT),1) ./...

## bench-compare: benchmarks at BASE and at HEAD, COUNT times each (default 6), in
## temporary worktrees, compared with benchstat; narrow with BENCH=regexp PKGS=./pkg
## e.g. make bench-compare BASE=HEAD~1 BENCH=Receive PKGS=./engine
bench-compare:
	BASE='$(BASE)' COUNT='$(or $(COUNT),6)' BENCHTIME='$(BENCHTIME)' BENCH='$(BENCH)' PKGS='$(PKGS)' ./scripts/bench-compare.sh

## smoke: the core suite in simulation at SMOKE_N nodes (default 500; a few
## seconds); fails when a scenario fails one of its outcome checks
smoke:
	$(GO) run ./cmd/gossipbench -n $(SMOKE_N) -q -out gossipbench-out/smoke

## figures: re-measure the figures README quotes (bench/results) and render
## README's figure blocks; FIGURES_BIG=1 adds the large runs (scripts/figures.sh)
figures:
	./scripts/figures.sh

clean:
	$(GO) clean -testcache -fuzzcache
