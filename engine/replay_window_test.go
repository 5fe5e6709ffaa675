package engine_test

import (
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// TestReplayWindow checks the per-sender replay window of a sealed node: a
// datagram is taken once, a replay is dropped and counted, and a forged
// header (an insider's, with the key) can make neither the sender's real
// datagrams look old: not with a sequence number far above the sender's,
// nor with a later generation the cluster has not agreed on.
func TestReplayWindow(t *testing.T) {
	key := []byte("0123456789abcdef")
	kr, err := codec.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultLANConfig()
	cfg.Keys = [][]byte{key}
	cfg.ID, cfg.Generation = 0x1, 1
	now := engine.Time(time.Hour)
	c, err := engine.NewCore(cfg, engine.Env{Addr: receiverAddr, Now: now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Seed(now, []engine.Member{senderMember})
	heartbeat := func(gen uint64, seq uint32) []byte {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400-codec.SealOverhead, codec.Header{
			Type: codec.MsgGossip, Cluster: codec.ClusterID(cfg.ClusterName), Sender: senderID, Generation: gen, Seq: seq,
		})
		d, err := codec.SealFor(nil, b.Finish(), kr, 0x1)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	deliver := func(d []byte) (taken bool) {
		before := c.Stats()
		now = now.Add(10 * time.Millisecond)
		c.Outbox().Reset()
		c.Receive(now, senderAddr, d)
		after := c.Stats()
		return after.In[codec.MsgGossip] > before.In[codec.MsgGossip]
	}
	steps := []struct {
		name  string
		d     []byte
		taken bool
	}{
		{"first", heartbeat(1, 1000), true},
		{"replayed", heartbeat(1, 1000), false},
		{"next", heartbeat(1, 1001), true},
		{"reordered within the window", heartbeat(1, 999), true},
		{"reordered, replayed", heartbeat(1, 999), false},
		{"older than the window", heartbeat(1, 1001-200), false},
		{"forged: far above the top", heartbeat(1, math.MaxUint32-1), false},
		{"real, after the forgery", heartbeat(1, 1002), true},
		{"forged: a later generation", heartbeat(2, 1<<31), true},
		{"real, after the later generation", heartbeat(1, 1003), true},
		{"real, replayed after it", heartbeat(1, 1003), false},
		{"an older generation", heartbeat(0, 50), false},
	}
	for _, st := range steps {
		if got := deliver(st.d); got != st.taken {
			t.Errorf("%s: taken = %v, want %v", st.name, got, st.taken)
		}
	}
	s := c.Stats()
	if s.DropReplay == 0 || s.RefusedImplausible == 0 {
		t.Errorf("DropReplay = %d, RefusedImplausible = %d: want both counted", s.DropReplay, s.RefusedImplausible)
	}
}
