package engine

import (
	"testing"
	"time"
)

// TestRefusalRateLimit scripts a bound's counter over simulated time and
// checks which steps log a line and what count each line reports: the first
// refusal at once, then at most one line a minute with everything refused
// since the previous line, flushed even when refusals stop; bounds are
// independent.
func TestRefusalRateLimit(t *testing.T) {
	t0 := Time(time.Hour)
	at := func(d time.Duration) Time { return t0.Add(d) }
	var r refusals
	for i, st := range []struct {
		b       bound
		at      Time
		counter uint64
		refused uint64 // 0: no line
	}{
		{boundMembers, at(0), 0, 0},                                     // nothing refused yet
		{boundMembers, at(time.Second), 5, 5},                           // first refusals: logged at once
		{boundMembers, at(2 * time.Second), 9, 0},                       // within the minute: held
		{boundState, at(3 * time.Second), 1, 1},                         // another bound: its own limit
		{boundMembers, at(30 * time.Second), 100, 0},                    // still held
		{boundMembers, at(61 * time.Second), 100, 95},                   // a minute after the line: the sum
		{boundMembers, at(62 * time.Second), 100, 0},                    // nothing new
		{boundMembers, at(200 * time.Second), 100, 0},                   // quiet
		{boundMembers, at(201 * time.Second), 101, 1},                   // a new refusal after quiet: at once
		{boundMembers, at(230 * time.Second), 150, 0},                   // held
		{boundState, at(230 * time.Second), 1, 0},                       // unchanged
		{boundMembers, at(261*time.Second + time.Millisecond), 150, 49}, // flushed without a new refusal
	} {
		refused, _, ok := r.due(st.b, st.at, st.counter)
		if ok != (st.refused > 0) || refused != st.refused {
			t.Errorf("step %d: due(%d, %v, %d) = %d, %v; want %d, %v",
				i, st.b, time.Duration(st.at-t0), st.counter, refused, ok, st.refused, st.refused > 0)
		}
	}
}
