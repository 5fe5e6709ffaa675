package sim_test

import (
	"testing"
	"time"
)

// TestStalledNodes pauses a tenth of a 200-node cluster for 200 to 800 ms
// every 2 to 5 s (a process that stops running now and then) and checks
// that no one is declared dead and that the stalled nodes accuse no one.
func TestStalledNodes(t *testing.T) {
	const n = 200
	rec := newRecorder()
	s := newSim(t, n, 61, lan(), rec)
	s.RunFor(10 * time.Second)
	stalled := map[int]bool{}
	for i := 0; i < n/10; i++ {
		stalled[(i*37+5)%n] = true
	}
	before := map[int]uint64{}
	for i := range stalled {
		before[i] = s.Node(i).Core.Stats().Suspicions
	}
	// Each stalled node runs in a cycle of its own: pause, resume, run.
	type cycle struct {
		next   time.Duration
		paused bool
	}
	cycles := map[int]*cycle{}
	k := 0
	for i := range stalled {
		cycles[i] = &cycle{next: s.Now() + time.Duration(k*173)*time.Millisecond}
		k++
	}
	end := s.Now() + 90*time.Second
	for s.Now() < end {
		s.RunFor(10 * time.Millisecond)
		for i, c := range cycles {
			if s.Now() < c.next {
				continue
			}
			h := uint64(i)*2654435761 + uint64(s.Now())
			if c.paused {
				s.Resume(i)
				c.paused = false
				c.next = s.Now() + 2*time.Second + time.Duration(h%3000)*time.Millisecond
			} else {
				s.Pause(i)
				c.paused = true
				c.next = s.Now() + 200*time.Millisecond + time.Duration(h%600)*time.Millisecond
			}
		}
	}
	for i, c := range cycles {
		if c.paused {
			s.Resume(i)
		}
	}
	s.RunFor(10 * time.Second)
	if d := rec.deadSubjects(); len(d) != 0 {
		t.Errorf("nodes declared dead: %v", d)
	}
	accused := uint64(0)
	for i := range stalled {
		accused += s.Node(i).Core.Stats().Suspicions - before[i]
	}
	if accused != 0 {
		t.Errorf("the stalled nodes raised %d suspicions", accused)
	}
	total := 0
	for i := range stalled {
		total += rec.susp[i]
	}
	t.Logf("%d nodes stalled 200-800 ms every 2-5 s for 90 s: %d suspect events about them, %d accusations by them, 0 deaths", len(stalled), total, accused)
}
