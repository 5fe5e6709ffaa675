package sim_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/engine/sim"
)

// msgLog records every EventMessage by receiving node and payload.
type msgLog struct {
	got   map[string]map[int]int // payload → receiver → deliveries
	from  map[string]engine.ID   // payload → origin reported
	bcast map[string]bool        // payload → Broadcast flag
}

func newMsgLog() *msgLog {
	return &msgLog{got: map[string]map[int]int{}, from: map[string]engine.ID{}, bcast: map[string]bool{}}
}

func (l *msgLog) onEvent(node int, e engine.Event) {
	if e.Type != engine.EventMessage {
		return
	}
	p := string(e.Payload)
	if l.got[p] == nil {
		l.got[p] = map[int]int{}
	}
	l.got[p][node]++
	l.from[p] = e.Member.ID
	l.bcast[p] = e.Broadcast
}

// broadcastRun starts a converged cluster of n nodes on links that lose
// loss of their datagrams, lets k members broadcast one message each, half
// a second apart, and returns the fraction of (message, other member)
// pairs delivered, and the duplicates delivered.
func broadcastRun(t *testing.T, n, k int, loss float64, seed uint64) (frac float64, dups int, log *msgLog, s *sim.Sim) {
	t.Helper()
	log = newMsgLog()
	link := lan()
	link.Loss = loss
	s, err := sim.New(sim.Config{N: n, Seed: seed, Engine: openLAN(), Link: link, OnEvent: log.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(5 * time.Second)
	for j := range k {
		origin := j * n / k
		if err := s.Broadcast(origin, fmt.Appendf(nil, "message %d from %d", j, origin)); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		s.RunFor(500 * time.Millisecond)
	}
	s.RunFor(10 * time.Second)
	delivered := 0
	for j := range k {
		origin := j * n / k
		p := fmt.Sprintf("message %d from %d", j, origin)
		for node, c := range log.got[p] {
			if node == origin {
				t.Errorf("%q was delivered to its own origin", p)
			}
			delivered++
			dups += c - 1
		}
		if len(log.got[p]) > 0 && (log.from[p] != s.Node(origin).ID || !log.bcast[p]) {
			t.Errorf("%q delivered from %v, broadcast %v; want from %v, broadcast", p, log.from[p], log.bcast[p], s.Node(origin).ID)
		}
	}
	return float64(delivered) / float64(k*(n-1)), dups, log, s
}

// TestBroadcastDelivery measures the fraction of members a broadcast
// reaches at N = 200, the figure engine.Core.Broadcast documents. With the
// default λ = 1 every member relays a broadcast r = ceil(log₂ 201) = 8
// times, so a member misses it with probability about exp(-r·(1-p)) on
// links that lose p: 3.4·10⁻⁴ at no loss, 7.5·10⁻⁴ at 10% loss. Over 160
// broadcasts (8 seeds, 20 origins each: 31,840 deliveries owed) the test
// asserts that no more than twice that is missed, and that no member
// delivers a broadcast twice.
func TestBroadcastDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("8 clusters of 200 nodes for 25 s of simulated time each")
	}
	const n, k, seeds = 200, 20, 8
	r := math.Ceil(math.Log2(n + 1))
	for _, loss := range []float64{0, 0.10} {
		var sum float64
		var st engine.Stats
		for seed := uint64(1); seed <= seeds; seed++ {
			frac, dups, _, s := broadcastRun(t, n, k, loss, seed)
			if dups != 0 {
				t.Errorf("loss %.0f%%, seed %d: %d duplicate deliveries", 100*loss, seed, dups)
			}
			sum += frac
			for _, nd := range s.Nodes() {
				x := nd.Core.Stats()
				st.BroadcastsReceived += x.BroadcastsReceived
				st.BroadcastsRelayed += x.BroadcastsRelayed
				st.MessageDuplicates += x.MessageDuplicates
				st.BroadcastsDropped += x.BroadcastsDropped
				st.BroadcastsRefused += x.BroadcastsRefused
			}
		}
		missed, model := 1-sum/seeds, math.Exp(-r*(1-loss))
		t.Logf("loss %.0f%%: %.5f of members reached, %.2e missed (model %.2e); per broadcast %.0f transmissions, %.0f copies ignored; %d dropped, %d refused",
			100*loss, 1-missed, missed, model, float64(st.BroadcastsRelayed)/(k*seeds), float64(st.MessageDuplicates)/(k*seeds),
			st.BroadcastsDropped, st.BroadcastsRefused)
		if missed > 2*model {
			t.Errorf("loss %.0f%%: %.2e of deliveries missed, want at most twice exp(-r·(1-p)) = %.2e", 100*loss, missed, 2*model)
		}
	}
}

// TestSendDelivered sends messages to one member: at once to a member whose
// address is verified, after a ping to one that is not yet; each arrives
// once, at that member alone.
func TestSendDelivered(t *testing.T) {
	log := newMsgLog()
	s, err := sim.New(sim.Config{N: 10, Seed: 2, Engine: openLAN(), Link: lan(), OnEvent: log.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	// At once: no address is verified yet, so the first goes after a ping.
	if err := s.Send(0, s.Node(5).ID, []byte("early")); err != nil {
		t.Fatal(err)
	}
	if st := s.Node(0).Core.Stats(); st.SendsSent != 0 {
		t.Fatalf("a message to an unverified member went at once")
	}
	s.RunFor(5 * time.Second)
	if err := s.Send(0, s.Node(5).ID, []byte("later")); err != nil {
		t.Fatal(err)
	}
	s.RunFor(time.Second)
	for _, p := range []string{"early", "later"} {
		if got := log.got[p]; len(got) != 1 || got[5] != 1 || log.bcast[p] || log.from[p] != s.Node(0).ID {
			t.Errorf("%q delivered %v (broadcast %v, from %v), want once at node 5, from node 0", p, got, log.bcast[p], log.from[p])
		}
	}
	if st := s.Node(0).Core.Stats(); st.SendsSent != 2 || st.SendsDropped != 0 {
		t.Errorf("node 0: %d sent, %d dropped; want 2, 0", st.SendsSent, st.SendsDropped)
	}
	// A member that is gone.
	s.Crash(6)
	s.RunFor(20 * time.Second)
	if err := s.Send(0, s.Node(6).ID, []byte("x")); !errors.Is(err, engine.ErrNoMember) {
		t.Errorf("Send to a dead member = %v, want %v", err, engine.ErrNoMember)
	}
}
