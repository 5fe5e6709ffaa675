package engine

import (
	"runtime"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// TestPoolSharesAppState checks that cores sharing a ShardPool keep one copy
// of a member's application state: the same entries for the same member and
// generation intern to the first copy, and anything else stays apart.
func TestPoolSharesAppState(t *testing.T) {
	p := NewShardPool()
	build := func(version uint64, value string) *appState {
		var e appEntry
		entryFromWire(&e, &codec.StateEntry{Version: version, Key: []byte("load"), Value: []byte(value)})
		return (*appState)(nil).with(&e)
	}
	first := build(1, "0.5")
	if got := p.internApp(7, 1, first); got != first {
		t.Fatalf("first copy: interned to another state")
	}
	same := build(1, "0.5")
	if got := p.internApp(7, 1, same); got != first {
		t.Errorf("an equal state of the same member and generation was not shared")
	}
	for _, c := range []struct {
		name  string
		owner ID
		gen   uint64
		a     *appState
	}{
		{"another version", 7, 1, build(2, "0.5")},
		{"another value", 7, 1, build(1, "0.6")},
		{"another member", 8, 1, build(1, "0.5")},
		{"another generation", 7, 2, build(1, "0.5")},
	} {
		if got := p.internApp(c.owner, c.gen, c.a); got != c.a {
			t.Errorf("%s: shared with a different state", c.name)
		}
	}
	if p.internApp(7, 1, nil) != nil {
		t.Errorf("no state interned to a state")
	}
	runtime.KeepAlive(first)
}
