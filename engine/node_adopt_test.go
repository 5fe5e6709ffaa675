package engine_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
)

// TestNodeAdoptView checks that a node adopting another's view holds every
// member the other holds, plus itself, that adopting its own view changes
// nothing, and that mismatched ShardBits and a closed node are refused.
func TestNodeAdoptView(t *testing.T) {
	cfg := testConfig()
	nodes := startNodes(t, 2, cfg)
	a, b := nodes[0], nodes[1]
	var members []engine.Member
	for i := range 300 {
		members = append(members, engine.Member{
			ID:         engine.ID(0x1000 + i),
			Addr:       netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 2}), uint16(20000+i)),
			Generation: 1,
			State:      engine.StateAlive,
		})
	}
	if err := a.AddMembers(members); err != nil {
		t.Fatal(err)
	}
	if err := b.AdoptView(a); err != nil {
		t.Fatal(err)
	}
	want := map[engine.ID]bool{b.ID(): true}
	for _, m := range a.AllMembers() {
		want[m.ID] = true
	}
	got := map[engine.ID]bool{}
	for _, m := range b.AllMembers() {
		got[m.ID] = true
		if !want[m.ID] {
			t.Errorf("b holds %v, which a does not", m.ID)
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("b lacks %v", id)
		}
	}
	if len(got) != 302 {
		t.Errorf("b holds %d members, want 302 (300 added, a and b)", len(got))
	}
	if m, ok := b.Member(b.ID()); !ok || m.State != engine.StateAlive || m.Addr != b.Addr() {
		t.Errorf("b's own record = %+v, %v; want alive at %v", m, ok, b.Addr())
	}

	// Adopting its own view changes nothing.
	if err := b.AdoptView(b); err != nil {
		t.Fatal(err)
	}
	if n := len(b.AllMembers()); n != 302 {
		t.Errorf("b holds %d members after adopting its own view, want 302", n)
	}

	other := testConfig()
	other.ShardBits = 4
	c := startNodes(t, 1, other)[0]
	if err := c.AdoptView(a); err == nil {
		t.Error("AdoptView between ShardBits 4 and 8 succeeded")
	}
	c.Close()
	if err := c.AdoptView(c); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("AdoptView on a closed node = %v, want ErrClosed", err)
	}
}
