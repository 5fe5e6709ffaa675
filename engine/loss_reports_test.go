package engine

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// TestDoubtPingsFollowMembersReports: a node whose own loss estimates read
// none sizes the check pings of a doubt by what the members answering its
// pings report when that is more (lossReports). At 10% loss on every link
// (300 nodes, TestOneWayHealUnderLoss, seed 2) one node had counted no
// heartbeat lost in 94, while the others read 0.03 to 0.26, and took a
// live member's death after the three pings its estimate called for. A
// report counts only from an ack that answers one of the node's own
// pings, and only for lossMemory heartbeat periods.
func TestDoubtPingsFollowMembersReports(t *testing.T) {
	c := newTestCore(t)
	t0 := Time(time.Hour)
	c.now = t0
	for range 2 * longMemory {
		c.noteNodeBeats(0) // no heartbeat of its subjects lost, ever
	}
	if got := c.doubtPings(); got != doubtPings {
		t.Fatalf("with no loss seen, a doubt sends %d pings, want %d", got, doubtPings)
	}
	report := uint16(1 + math.Round(0.1*codec.LossScale)) // 10%, as an ack carries it
	want := doubtPingsAt(0.1)

	// Forged acks, answering no ping of this node: not counted.
	for i := range 9 {
		c.onAck(t0, &codec.Ack{Seq: uint32(1000 + i), Target: uint64(100 + i), Loss: report})
	}
	if got := c.doubtPings(); got != doubtPings {
		t.Errorf("after acks that answer no ping, a doubt sends %d pings, want %d", got, doubtPings)
	}

	// Three members, each doubted: their acks to the check pings count.
	var members []Member
	for i := range 3 {
		members = append(members, Member{ID: ID(10 + i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i)}), 7946), Generation: 1, State: StateAlive})
	}
	c.Seed(t0, members)
	for _, m := range members {
		r := c.lookup(m.ID)
		if !c.doubtDeath(t0, r, &codec.Member{ID: uint64(m.ID), Generation: 1, State: codec.StateDead, Witness: 2}, false) {
			t.Fatalf("the death of %v was taken at once", m.ID)
		}
	}
	var seqs []uint32
	for _, d := range c.doubts {
		if d.seq == 0 {
			t.Fatalf("doubt of %v sent no ping", d.id)
		}
		seqs = append(seqs, d.seq)
	}
	for i, m := range members {
		c.onAck(t0.Add(time.Millisecond), &codec.Ack{Seq: seqs[i], Target: uint64(m.ID), Loss: report})
	}
	if len(c.doubts) != 0 {
		t.Fatalf("%d doubts left after every member answered", len(c.doubts))
	}
	c.now = t0.Add(2 * time.Second)
	if got := c.doubtPings(); got != want {
		t.Errorf("with three members reporting 10%% loss, a doubt sends %d pings, want %d", got, want)
	}
	c.now = t0.Add(lossMemory*c.cfg.HeartbeatInterval + time.Second)
	if got := c.doubtPings(); got != doubtPings {
		t.Errorf("%v after the reports, a doubt sends %d pings, want %d", c.now.Sub(t0), got, doubtPings)
	}
}
