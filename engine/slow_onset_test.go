package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// slowOnsetCore returns a core with three members, all its subjects, and
// the monitor of the first, at t0.
func slowOnsetCore(t *testing.T) (*Core, *monitor, *record) {
	t.Helper()
	c := newTestCore(t)
	t0 := Time(time.Hour)
	c.now = t0
	var members []Member
	for i := range 3 {
		members = append(members, Member{ID: ID(10 + i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i)}), 7946), Generation: 1, State: StateAlive})
	}
	c.Seed(t0, members)
	c.refreshTopology()
	m := c.monitorOf(10)
	if m == nil {
		t.Fatal("member 10 is not a subject")
	}
	return c, m, c.lookup(10)
}

// beatFrom delivers heartbeat counter n of member 10 one period after the
// last.
func beatFrom(c *Core, n uint64) {
	c.now = c.now.Add(c.cfg.HeartbeatInterval)
	c.onHeartbeat(c.now, &codec.Header{Type: codec.MsgHeartbeat, Sender: 10, Generation: 1}, &codec.Heartbeat{Counter: n})
}

// TestReorderedHeartbeatsNotLost: a heartbeat that arrives after a later
// one (a slow link reorders) is taken out of the loss counts, once; a
// heartbeat that never comes stays counted. Before, each reordered
// heartbeat counted as lost, on top of the link's own loss.
func TestReorderedHeartbeatsNotLost(t *testing.T) {
	c, m, _ := slowOnsetCore(t)
	for n := uint64(1); n <= 8; n++ {
		beatFrom(c, n)
	}
	// Every second pair swapped: 10 before 9, 14 before 13, ...
	for n := uint64(9); n < 41; n += 4 {
		beatFrom(c, n+1)
		beatFrom(c, n)
		beatFrom(c, n+2)
		beatFrom(c, n+3)
	}
	if m.loss > 1e-9 || c.nodeLoss() > 1e-9 {
		t.Fatalf("after 8 reordered heartbeats in 40, none lost, the subject's loss reads %.3f and the node's %.3f, want 0", m.loss, c.nodeLoss())
	}
	if long, _ := c.longLoss.rate(); c.longLoss.lost > 1e-9 {
		t.Fatalf("the long estimate counts %.3f lost (rate %.3f), want 0", c.longLoss.lost, long)
	}
	// 42 lost, 41 and 43 arrive: counted.
	beatFrom(c, 41)
	beatFrom(c, 43)
	lost := m.loss
	if lost <= 0 {
		t.Fatalf("a heartbeat lost: the subject's loss reads %.3f, want more than 0", lost)
	}
	// Duplicates and replays of heartbeats that arrived change nothing.
	beatFrom(c, 43)
	beatFrom(c, 41)
	if m.loss != lost {
		t.Fatalf("a duplicate moved the subject's loss from %.3f to %.3f", lost, m.loss)
	}
	// 42 after all, twice: taken out once.
	beatFrom(c, 42)
	if m.loss > 1e-9 {
		t.Fatalf("the heartbeat counted lost arrived late: the subject's loss reads %.3f, want 0", m.loss)
	}
	lw := m.lostW
	beatFrom(c, 42)
	if m.lostW != lw {
		t.Fatalf("a replay of the late heartbeat moved the lost count from %.3f to %.3f", lw, m.lostW)
	}
}

// TestProbeOvertakenByHeartbeat: a new heartbeat of a subject that comes
// while a probe of it is out ends the probe, which would otherwise accuse
// the subject at its end; an ack that comes after still gives a round
// trip. Traced in the simulator (TestSlowNodesWithLoss): a member that had
// just turned slow (0.5 to 2 s each way, 30% loss begun with it) sent a
// heartbeat that came 0.15 s before its observer's probe ran out; the
// probe accused it, and the observer, having heard nothing since, declared
// it dead at the end of its timer while its refutation was on the way. A
// heartbeat that does not raise the counter (a duplicate, a replay) does
// not end the probe.
func TestProbeOvertakenByHeartbeat(t *testing.T) {
	c, _, r := slowOnsetCore(t)
	for n := uint64(1); n <= 8; n++ {
		beatFrom(c, n)
	}
	sent := c.now
	seq := c.startProbe(c.now, r, probeMonitor)
	if !c.probing(r.id) {
		t.Fatal("no probe out")
	}
	beatFrom(c, 8) // a duplicate
	if !c.probing(r.id) {
		t.Fatal("a duplicate heartbeat ended the probe")
	}
	c.now = sent.Add(150 * time.Millisecond)
	c.onHeartbeat(c.now, &codec.Header{Type: codec.MsgHeartbeat, Sender: 10, Generation: 1}, &codec.Heartbeat{Counter: 9})
	if c.probing(r.id) {
		t.Fatal("a new heartbeat did not end the probe")
	}
	if got := c.stats.ProbesOvertaken; got != 1 {
		t.Fatalf("Stats.ProbesOvertaken = %d, want 1", got)
	}
	c.now = sent.Add(2 * time.Second)
	c.Tick(c.now)
	if r := c.lookup(10); r.state != StateAlive {
		t.Fatalf("the subject is %v after its probe's time, want alive", r.state)
	}
	c.onAck(c.now, &codec.Ack{Seq: seq, Target: 10})
	if d, ok := c.RTT(10); !ok || d != 2*time.Second {
		t.Fatalf("the probe's late ack gave round trip %v (%v), want 2s", d, ok)
	}
}
