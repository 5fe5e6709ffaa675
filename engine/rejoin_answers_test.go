package engine

import "testing"

// TestRejoinPassNeedsAnswers: a try passes only once rejoinReports members
// answered, however many misses the loss it forgives allows. A flaky node
// at 80% loss whose long estimate read 0.416 (rising, below rejoinMaxLoss)
// forgave 15 misses of 16, passed at its first answer and came back
// (TestFlakyRemovedEverySeed, seed 14, bench).
func TestRejoinPassNeedsAnswers(t *testing.T) {
	c := tryAtFlakyLoss(t)
	if allowed := c.rejoinMisses(c.rejoin.need); allowed != 15 {
		t.Fatalf("rejoinMisses(16) at a long estimate of 0.416 = %d, want 15", allowed)
	}
	inc := c.inc
	for k := range rejoinReports {
		if !c.rejoin.active {
			t.Fatalf("the try passed after %d answers, want %d", k, rejoinReports)
		}
		c.rejoinAnswered(c.now, uint32(100+k), 0)
	}
	if c.rejoin.active || c.inc <= inc {
		t.Errorf("after %d answers: rejoining %v, incarnation %d (was %d); want refuted", rejoinReports, c.rejoin.active, c.inc, inc)
	}
}

// TestRejoinFailsWithFewAnswers: a try whose pings all settled with fewer
// than rejoinReports answers fails, even when it forgives every miss, and
// waits for the next.
func TestRejoinFailsWithFewAnswers(t *testing.T) {
	c := tryAtFlakyLoss(t)
	c.rejoinAnswered(c.now, 100, 0)
	c.rejoinAnswered(c.now, 101, 0)
	for i := 2; i < 16; i++ {
		c.rejoinFailed(c.now, uint32(100+i))
	}
	if !c.rejoin.active || c.rejoin.inFlight {
		t.Errorf("2 answers of 16: rejoining %v, in flight %v; want a failed try, waiting", c.rejoin.active, c.rejoin.inFlight)
	}
}

// tryAtFlakyLoss returns a core rejoining with a first round of 16 pings
// out (sequences 100 to 115), whose long estimate reads 0.416: a flaky
// node's, rising.
func tryAtFlakyLoss(t *testing.T) *Core {
	t.Helper()
	c := newTestCore(t)
	c.longLoss = lossCount{lost: 0.416 * longMemory, seen: longMemory}
	c.beginRejoin(c.now, c.inc)
	rj := &c.rejoin
	rj.inFlight, rj.round, rj.need = true, 1, 16
	for i := range rj.need {
		rj.seqs[i] = uint32(100 + i)
	}
	return c
}
