package sim_test

import (
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/engine/sim"
	"github.com/hearsay-io/hearsay/netio"
)

// TestBlipsNeverKill cuts single nodes of a 200-node cluster off
// completely for 1, 2 and 3 s, one at a time, 30 times, and checks that
// none is ever declared dead: a blip that ended leaves the node able to
// refute, and it does.
func TestBlipsNeverKill(t *testing.T) {
	skipLargeUnderRace(t)
	const n = 200
	rec := newRecorder()
	s := newSim(t, n, 101, lan(), rec)
	s.RunFor(10 * time.Second)
	lengths := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	for k := 0; k < 30; k++ {
		v := (k*53 + 17) % n
		s.Network().SetEndpointFaults(sim.Addr(v), netio.Faults{Loss: 1})
		s.RunFor(lengths[k%3])
		s.Network().SetEndpointFaults(sim.Addr(v), netio.Faults{})
		s.RunFor(5 * time.Second)
	}
	s.RunFor(20 * time.Second)
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("blipped nodes declared dead: %v", d)
	}
	total := 0
	for _, c := range rec.susp {
		total += c
	}
	t.Logf("30 blips of 1-3 s: %d suspect events, %d nodes declared dead", total, len(rec.deadSubjects()))
}
