package ring_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// The balance measurements run a few trials in go test and the full count
// with -long:
//
//	go test ./ring -run 'Balance|Movement' -long -v
var (
	long        = flag.Bool("long", false, "run balance and movement measurements over many trials")
	sweepTokens = flag.String("sweep.tokens", "64,128,192,256,320,384,448,512", "token counts TestBalanceSweep measures")
	sweepTrials = flag.Int("sweep.trials", 20, "member sets TestBalanceSweep measures per token count")
)

// circle is 2^64 as a float64.
const circle = 1 << 64

// shares returns each member's share of the keyspace, exactly from its token
// ranges, as a multiple of the mean share 1/n.
func shares(r *ring.Ring) []float64 {
	ids := r.Members(nil)
	out := make([]float64, len(ids))
	var rs []ring.Range
	for i, id := range ids {
		rs = r.Ranges(id, rs[:0])
		var sum uint64 // below 2^64 when there are two members or more
		for _, g := range rs {
			sum += g.Size()
		}
		out[i] = float64(sum) * float64(len(ids)) / circle
	}
	return out
}

// summary formats the distribution of xs.
func summary(xs []float64) string {
	s := slices.Sorted(slices.Values(xs))
	q := func(p float64) float64 { return s[int(p*float64(len(s)-1)+0.5)] }
	var mean, sq float64
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	for _, x := range s {
		sq += (x - mean) * (x - mean)
	}
	return fmt.Sprintf("n=%d min %.4f p10 %.4f median %.4f p90 %.4f max %.4f mean %.4f sd %.4f",
		len(s), s[0], q(0.1), q(0.5), q(0.9), s[len(s)-1], mean, math.Sqrt(sq/float64(len(s))))
}

// maxShare returns the largest share of a ring of n random members.
func maxShare(seed uint64, n, tokens int) float64 {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	return slices.Max(shares(ring.New(ring.Config{Tokens: tokens}, randomIDs(rng, n))))
}

// TestBalance checks that with the default token count the most-loaded of
// 10,000 members owns at most 1.25 times the mean keyspace.
func TestBalance(t *testing.T) {
	trials := 2
	if *long {
		trials = 100
	}
	const n = 10000
	var maxes []float64
	for seed := range uint64(trials) {
		m := maxShare(seed, n, 0)
		if m > 1.25 {
			t.Errorf("seed %d: most-loaded of %d members owns %.4f× the mean keyspace, want at most 1.25", seed, n, m)
		}
		maxes = append(maxes, m)
	}
	t.Logf("max/mean share, %d members, %d tokens: %s", n, ring.DefaultTokens, summary(maxes))
}

// TestBalanceSweep measures max/mean share at 10,000 members for several
// token counts; it runs only with -long.
func TestBalanceSweep(t *testing.T) {
	if !*long {
		t.Skip("a measurement: run with -long")
	}
	var b strings.Builder
	for _, f := range strings.Split(*sweepTokens, ",") {
		tokens, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("-sweep.tokens: %v", err)
		}
		var maxes []float64
		for seed := range uint64(*sweepTrials) {
			maxes = append(maxes, maxShare(1000+seed, 10000, tokens))
		}
		fmt.Fprintf(&b, "\ntokens %4d: %s", tokens, summary(maxes))
	}
	t.Logf("max/mean share at 10,000 members:%s", b.String())
}

// ownedShare returns the fraction of the keyspace id owns in r.
func ownedShare(r *ring.Ring, id uint64) float64 {
	var sum uint64
	for _, g := range r.Ranges(id, nil) {
		sum += g.Size()
	}
	return float64(sum) / circle
}

// TestMovement checks that one join or leave at 10,000 members moves close
// to 1/N of the keys, and only to or from the member that changed: keys
// sampled before and after change owner only when the joiner takes them or
// the leaver gives them up.
func TestMovement(t *testing.T) {
	trials := 2
	if *long {
		trials = 50
	}
	const n, samples = 10000, 20000
	var joins, leaves []float64
	for seed := range uint64(trials) {
		rng := rand.New(rand.NewPCG(seed, 77))
		ids := randomIDs(rng, n)
		r := ring.New(ring.Config{}, ids)
		joiner := rng.Uint64() | 1
		after := r.Add(joiner)
		leaver := ids[rng.IntN(n)]
		without := r.Remove(leaver)
		for range samples {
			k := rng.Uint64()
			o, _ := r.Owner(k)
			if oj, _ := after.Owner(k); oj != o && oj != joiner {
				t.Fatalf("seed %d: key %#x moved from %#x to %#x on the join of %#x", seed, k, o, oj, joiner)
			}
			if ol, _ := without.Owner(k); ol != o && o != leaver {
				t.Fatalf("seed %d: key %#x moved from %#x to %#x on the leave of %#x", seed, k, o, ol, leaver)
			}
		}
		// The keys that move are exactly the changed member's share.
		joins = append(joins, ownedShare(after, joiner)*(n+1))
		leaves = append(leaves, ownedShare(r, leaver)*n)
	}
	for _, x := range append(slices.Clone(joins), leaves...) {
		if x < 0.75 || x > 1.25 {
			t.Errorf("a join or leave moved %.3f/N of the keyspace, want within 0.75..1.25 of 1/N", x)
		}
	}
	t.Logf("keys moved by one join, in units of 1/N at %d members: %s", n, summary(joins))
	t.Logf("keys moved by one leave, in units of 1/N at %d members: %s", n, summary(leaves))
}
