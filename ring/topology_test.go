package ring_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// checkTopology compares every query of tp with the reference ref, for every
// member and a few outsiders, for k from 0 to past the member count.
func checkTopology(t testing.TB, rng *rand.Rand, tp *ring.Topology, ref *refTopology) {
	t.Helper()
	if got, want := tp.Len(), len(ref.members); got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	members := tp.Members(nil)
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	if !slices.Equal(sorted, ref.members) {
		t.Fatalf("Members() = %x, want the set %x", members, ref.members)
	}
	probe := append(slices.Clone(ref.members), rng.Uint64(), rng.Uint64())
	for _, id := range probe {
		if got, want := tp.Contains(id), slices.Contains(ref.members, id); got != want {
			t.Fatalf("Contains(%#x) = %v, want %v", id, got, want)
		}
		for _, k := range []int{-1, 0, 1, 2, 3, len(ref.members) - 1, len(ref.members), len(ref.members) + 2} {
			if got, want := tp.Observers(id, k, nil), ref.observers(id, k); !slices.Equal(got, want) {
				t.Fatalf("Observers(%#x, %d) = %x, want %x", id, k, got, want)
			}
			if got, want := tp.Subjects(id, k, nil), ref.subjects(id, k); !slices.Equal(got, want) {
				t.Fatalf("Subjects(%#x, %d) = %x, want %x", id, k, got, want)
			}
		}
	}
}

func TestTopologyMatchesReference(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 7, 50} {
		rng := rand.New(rand.NewPCG(10, uint64(n)))
		ids := randomIDs(rng, n)
		ref := &refTopology{}
		for _, id := range ids {
			ref.add(id)
		}
		checkTopology(t, rng, ring.NewTopology(ids), ref)
	}
	var zero ring.Topology
	checkTopology(t, rand.New(rand.NewPCG(10, 0)), &zero, &refTopology{})
}

func TestTopologyChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	pool := randomIDs(rng, 30)
	tp, ref := ring.NewTopology(nil), &refTopology{}
	var snaps []*ring.Topology
	var refs []refTopology
	for step := range 200 {
		id := pool[rng.IntN(len(pool))]
		if rng.IntN(3) == 0 {
			tp = tp.Remove(id)
			ref.remove(id)
		} else {
			tp = tp.Add(id)
			ref.add(id)
		}
		checkTopology(t, rng, tp, ref)
		if step%20 == 0 {
			snaps = append(snaps, tp)
			refs = append(refs, refTopology{members: slices.Clone(ref.members)})
		}
	}
	for i := range snaps {
		checkTopology(t, rng, snaps[i], &refs[i])
	}
}

// TestTopologyDegrees checks that every member observes exactly
// min(k, n-1) distinct others and is observed by as many, and that
// Observers and Subjects are converse relations.
func TestTopologyDegrees(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 6, 40} {
		for _, k := range []int{1, 2, 3, 5} {
			rng := rand.New(rand.NewPCG(12, uint64(n*10+k)))
			tp := ring.NewTopology(randomIDs(rng, n))
			want := min(k, n-1)
			observedBy := map[uint64]int{}
			for _, id := range tp.Members(nil) {
				obs := tp.Observers(id, k, nil)
				subs := tp.Subjects(id, k, nil)
				for name, got := range map[string][]uint64{"Observers": obs, "Subjects": subs} {
					u := slices.Compact(slices.Sorted(slices.Values(got)))
					if len(got) != want || len(u) != want || slices.Contains(got, id) {
						t.Fatalf("n=%d: %s(%#x, %d) = %x, want %d distinct others", n, name, id, k, got, want)
					}
				}
				for _, o := range obs {
					observedBy[o]++
					if !slices.Contains(tp.Subjects(o, k, nil), id) {
						t.Fatalf("n=%d k=%d: %#x observes %#x but Subjects(%#x) = %x", n, k, o, id, o, tp.Subjects(o, k, nil))
					}
				}
			}
			for _, id := range tp.Members(nil) {
				if observedBy[id] != want {
					t.Fatalf("n=%d k=%d: %#x observes %d members, want %d", n, k, id, observedBy[id], want)
				}
			}
		}
	}
}

// pairs returns the observer relation of tp as a set of (observer, subject).
func pairs(tp *ring.Topology, k int) map[[2]uint64]bool {
	m := map[[2]uint64]bool{}
	for _, s := range tp.Members(nil) {
		for _, o := range tp.Observers(s, k, nil) {
			m[[2]uint64{o, s}] = true
		}
	}
	return m
}

// changedPairsBound is the exact number of (observer, subject) pairs that one
// member joining n others (or leaving n+1 members) changes: it gains
// min(k, n) observers and subjects, and when n > k each of its k
// predecessors loses the observer it displaced.
func changedPairsBound(n, k int) int {
	if n > k {
		return 3 * k
	}
	return 2 * n
}

// TestTopologyChurnBound counts the observer pairs that each join and leave
// changes over a random walk and checks the exact count.
func TestTopologyChurnBound(t *testing.T) {
	for _, k := range []int{1, 2, 3, 4, 8} {
		rng := rand.New(rand.NewPCG(13, uint64(k)))
		tp := ring.NewTopology(nil)
		worst := 0
		for step := range 300 {
			var id uint64
			join := tp.Len() == 0 || rng.IntN(2) == 0 && tp.Len() < 4*k+4
			if join {
				id = rng.Uint64()
			} else {
				ms := tp.Members(nil)
				id = ms[rng.IntN(len(ms))]
			}
			before := pairs(tp, k)
			next := tp.Add(id)
			if !join {
				next = tp.Remove(id)
			}
			after := pairs(next, k)
			changed := 0
			for p := range before {
				if !after[p] {
					changed++
				}
			}
			for p := range after {
				if !before[p] {
					changed++
				}
			}
			others := min(tp.Len(), next.Len()) // members other than id
			if want := changedPairsBound(others, k); changed != want {
				t.Fatalf("k=%d step %d: join=%v among %d others changed %d pairs, want %d", k, step, join, others, changed, want)
			}
			worst = max(worst, changed)
			tp = next
		}
		if worst != 3*k {
			t.Errorf("k=%d: largest change %d pairs, want the bound 3k = %d reached", k, worst, 3*k)
		}
	}
}

func TestTopologyAddRemoveNoop(t *testing.T) {
	tp := ring.NewTopology([]uint64{1, 2, 3, 3})
	if tp.Len() != 3 {
		t.Errorf("NewTopology([1 2 3 3]).Len() = %d, want 3", tp.Len())
	}
	if got := tp.Add(2); got != tp {
		t.Errorf("Add(member) returned a new topology")
	}
	if got := tp.Remove(9); got != tp {
		t.Errorf("Remove(non-member) returned a new topology")
	}
}

// TestTopologyCollisions checks the tie-breaking rule, order by ID among
// members at one position, against the reference.
func TestTopologyCollisions(t *testing.T) {
	for _, pos := range []func(uint64) uint64{
		func(id uint64) uint64 { return id % 3 },
		func(id uint64) uint64 { return id%4 - 2 },
		func(id uint64) uint64 { return 7 },
	} {
		rng := rand.New(rand.NewPCG(14, 14))
		tp, ref := ring.NewTopologyWith(pos, []uint64{3, 4}), &refTopology{pos: pos}
		ref.add(3)
		ref.add(4)
		for range 60 {
			id := uint64(rng.IntN(14))
			if rng.IntN(3) == 0 {
				tp = tp.Remove(id)
				ref.remove(id)
			} else {
				tp = tp.Add(id)
				ref.add(id)
			}
			checkTopology(t, rng, tp, ref)
			for id := range uint64(16) {
				for _, k := range []int{1, 2, 4} {
					if got, want := tp.Observers(id, k, nil), ref.observers(id, k); !slices.Equal(got, want) {
						t.Fatalf("Observers(%d, %d) = %v, want %v", id, k, got, want)
					}
					if got, want := tp.Subjects(id, k, nil), ref.subjects(id, k); !slices.Equal(got, want) {
						t.Fatalf("Subjects(%d, %d) = %v, want %v", id, k, got, want)
					}
				}
			}
		}
	}
}
