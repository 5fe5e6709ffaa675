package sim_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneWayHealUnderLoss cuts half of 300 nodes (A) off from the other
// half (B) in one direction, with uniform loss on every link, and heals
// the cut. Each side declares the other dead during the cut (excused); at
// the heal A's deaths of B nodes reach B, whose nodes hear each other all
// along. No node may declare a node of its own side dead, and every node
// must see every node alive within the limit after the heal.
//
// At 10% loss for 20 s: every B node then doubts about 150 deaths of
// members it holds alive, some 22,000 doubts: three check pings each, at
// the loss a short estimate gave (often none), turned 1,034 of them into
// false deaths in nemesis-one-way, and the members declared dead could not
// pass a rejoin that forgave one lost ping in eight, so the cluster did
// not converge.
//
// At 30% loss for 60 s: B's suspicions of A nodes reach A, and an A node
// whose refutation has not reached another A node yet is held suspect
// there when B's death of it arrives. Such a brief doubt sent three pings
// whatever the loss, and lost one in eight of them at 30% on each way:
// same-side deaths during the cut (one at this seed: a node of A took B's
// death of another). A node holding a suspect on hearsay now pings it
// ahead of its death, as many times as the loss it sees calls for
// (watchSuspect, briefNeed). The heal at this loss was slow: B learned
// A's refutations, made during the cut, only by anti-entropy with the few
// members that had checked them, and every node saw every node alive 48 s
// after the heal (19 s once overdue verdicts were pulled, f2f7e71). A
// member revived at a node is now passed on as news (revival.go): 5 s, and
// 4 s at 10% loss (6.25 s before). The limit is the 10 s.
//
// Seeds 5 and 7 at 30% loss left one node holding one member dead long
// after every other node saw every node alive (not within 20 s, and
// 18.25 s): that node missed the rumour of the member's return, and only
// its periodic exchange brought it. A node that heard a member held dead
// talk now tells the members it still holds dead so, one a heartbeat
// interval for ten (heal.go): 6 and 6.25 s.
//
// Seed 9 at 30% loss took 13.5 s (e33c241): members that were back stayed
// dead at a few nodes while their revival's check pings, one a try, went
// unanswered 15 to 19 times, and rejoins failed that forgave only the
// loss the node's own long estimate showed. Revival checks now go in
// copies and rejoins forgive the loss the answering members report
// (a68b8e8, 180a495): 4.25 s.
//
// With the loss begun together with a 20 s cut (30%, seed 1), the last
// node saw every node alive 18.25 s after the heal: two A nodes, whose
// rejoins had failed against B through the cut, waited out their back-off
// (up to 12 s) while B held them dead; the one sign that the cut had
// healed, B's verdicts answering their datagrams, did not cut the wait
// short. It does now (authority.go onVerdict): 5.25 s (4.25 s at 6f7450a,
// before 47886c7 was re-applied and lossGap); 8.75 s once brief doubts
// sent their k-th ping in k copies (doubt.go), which this case needed: with
// acks sent in copies (ackCopies) it drew a death within side A, six
// single check pings of one member all failing 6 s into the cut.
func TestOneWayHealUnderLoss(t *testing.T) {
	skipLargeUnderRace(t)
	for _, c := range []struct {
		seed       uint64
		loss       float64
		cut, limit time.Duration
		together   bool // the loss begins with the cut, not at the start
	}{
		{2, 0.1, 20 * time.Second, 10 * time.Second, false},
		{4, 0.3, 60 * time.Second, 10 * time.Second, false},
		{5, 0.3, 60 * time.Second, 10 * time.Second, false},
		{7, 0.3, 60 * time.Second, 10 * time.Second, false},
		{9, 0.3, 60 * time.Second, 10 * time.Second, false},
		{1, 0.3, 20 * time.Second, 10 * time.Second, true},
	} {
		name := fmt.Sprintf("loss %v seed %d", c.loss, c.seed)
		if c.together {
			name += " begun with the cut"
		}
		t.Run(name, func(t *testing.T) {
			oneWayHealUnderLoss(t, c.seed, c.loss, c.cut, c.limit, c.together)
		})
	}
}

func oneWayHealUnderLoss(t *testing.T, seed uint64, loss float64, cut, limit time.Duration, together bool) {
	const n = 300
	l := lan()
	if !together {
		l.Loss = loss
	}
	h := newHalves(t, n, seed, rand.New(rand.NewPCG(seed, 3)), l)
	s := h.s
	s.RunFor(10 * time.Second)
	if together {
		l.Loss = loss
		s.Network().SetDefaultLink(l)
	}
	h.cutAToB(true)
	h.counting = true
	s.RunFor(cut)
	h.cutAToB(false)
	converged := time.Duration(-1)
	const step = 250 * time.Millisecond
	for k := 0; k < int(limit/step) && converged < 0; k++ {
		s.RunFor(step)
		all := true
		for i := range n {
			if live, _ := s.Node(i).Core.NumMembers(); live != n {
				all = false
				break
			}
		}
		if all {
			converged = time.Duration(k+1) * step
		}
	}
	s.RunFor(10 * time.Second) // and no death after
	same := h.same
	t.Logf("%d nodes, %v loss, one-way cut for %v: %d deaths within a side; all see all %v after the heal", n, loss, cut, same, converged)
	if same > 0 {
		t.Errorf("%d deaths of nodes by nodes on their own side, want 0", same)
	}
	if converged < 0 {
		t.Errorf("not every node sees every node alive %v after the heal", limit)
	}
}
