package bench

import (
	"math/rand/v2"
	"time"

	"github.com/hearsay-io/hearsay/netio"
)

// The faults a nemesis injects: each tells the oracle what it excuses
// and returns, where it lasts, the function that ends it.

// setLink puts l in force on every link.
func (nm *nemesis) setLink(l linkFaults) error {
	fc, err := nm.controls()
	if err != nil {
		return err
	}
	if err := fc.setLinkFaults(l); err != nil {
		return err
	}
	nm.link = l
	return nil
}

// setLinkLoss changes the loss on every link, keeping the other faults.
func (nm *nemesis) setLinkLoss(p float64) error {
	l := nm.link
	l.Loss = p
	return nm.setLink(l)
}

// setNode puts loss and delay in force on node i's endpoint.
func (nm *nemesis) setNode(i int, loss float64, delay netio.Latency) error {
	fc, err := nm.controls()
	if err != nil {
		return err
	}
	if err := fc.setNodeFaults(i, loss, delay); err != nil {
		return err
	}
	nm.nodeLoss[i], nm.nodeDelay[i] = loss, delay
	return nil
}

// impair makes the nodes lose the fraction p of what they send and, again,
// of what they receive, and tells the oracle; the returned function ends
// the fault.
func (nm *nemesis) impair(nodes []int, p float64) (stop func() error, err error) {
	now := nm.c.Now()
	for _, v := range nodes {
		if err := nm.setNode(v, p, nm.nodeDelay[v]); err != nil {
			return nil, err
		}
		nm.mu.Lock()
		nm.or.impair(v, now)
		nm.mu.Unlock()
	}
	return func() error {
		now := nm.c.Now()
		for _, v := range nodes {
			if err := nm.setNode(v, 0, nm.nodeDelay[v]); err != nil {
				return err
			}
			nm.mu.Lock()
			nm.or.heal(v, now)
			nm.mu.Unlock()
		}
		return nil
	}, nil
}

// slow delays every datagram the nodes send and receive by d; the returned
// function ends the fault. Slowness excuses nothing.
func (nm *nemesis) slow(nodes []int, d netio.Latency) (stop func() error, err error) {
	for _, v := range nodes {
		if err := nm.setNode(v, nm.nodeLoss[v], d); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, v := range nodes {
			if err := nm.setNode(v, nm.nodeLoss[v], netio.Latency{}); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// partition splits the cluster into groups (every node listed), tells the
// oracle, and returns the function that heals it.
func (nm *nemesis) partition(groups [][]int, excuse bool) (heal func() error, err error) {
	if err := nm.c.Partition(groups...); err != nil {
		return nil, err
	}
	var ct *cut
	if excuse {
		g := make([]int8, nm.c.Len())
		for k, list := range groups {
			for _, v := range list {
				g[v] = int8(k)
			}
		}
		nm.mu.Lock()
		ct = nm.or.addCut(g, -1, nm.c.Now())
		nm.mu.Unlock()
	}
	return func() error {
		if err := nm.c.Heal(); err != nil {
			return err
		}
		if ct != nil {
			nm.mu.Lock()
			ct.until = nm.c.Now()
			nm.mu.Unlock()
		}
		return nil
	}, nil
}

// oneWay drops everything the nodes of from send to the nodes of to,
// tells the oracle, and returns the function that restores the links.
func (nm *nemesis) oneWay(from, to []int) (heal func() error, err error) {
	fc, err := nm.controls()
	if err != nil {
		return nil, err
	}
	if err := fc.cutOneWay(from, to, true); err != nil {
		return nil, err
	}
	g := make([]int8, nm.c.Len())
	for i := range g {
		g[i] = 2 // neither side: hears and is heard
	}
	for _, v := range from {
		g[v] = 0
	}
	for _, v := range to {
		g[v] = 1
	}
	nm.mu.Lock()
	ct := nm.or.addCut(g, 0, nm.c.Now())
	nm.mu.Unlock()
	return func() error {
		if err := fc.cutOneWay(from, to, false); err != nil {
			return err
		}
		nm.mu.Lock()
		ct.until = nm.c.Now()
		nm.mu.Unlock()
		return nil
	}, nil
}

// crash kills node i and tells the oracle.
func (nm *nemesis) crash(i int) error {
	if err := nm.c.Crash(i); err != nil {
		return err
	}
	nm.mu.Lock()
	nm.or.crashed(i, nm.c.Now())
	nm.mu.Unlock()
	return nil
}

// restart starts node i again, joining through seeds, and tells the
// oracle.
func (nm *nemesis) restart(i int, seeds []int) error {
	if err := nm.c.Restart(i, seeds); err != nil {
		return err
	}
	nm.mu.Lock()
	nm.or.restarted(i, nm.c.Generation(i), nm.c.Now())
	nm.mu.Unlock()
	return nil
}

// pause freezes node i (a stall); resume thaws it. A paused process still
// runs, for the oracle.
func (nm *nemesis) pause(i int) error {
	if err := nm.c.Pause(i); err != nil {
		return err
	}
	nm.paused[i] = true
	return nil
}

func (nm *nemesis) resume(i int) error {
	if !nm.paused[i] {
		return nil
	}
	if err := nm.c.Resume(i); err != nil {
		return err
	}
	nm.paused[i] = false
	return nil
}

// bursts schedules loss bursts on every link from now until end: one
// burst of length burst every period, at the levels in turn, restoring
// the loss in force before each. It returns the number of bursts
// scheduled and a function that cancels those not yet begun and ends one
// under way.
func (nm *nemesis) bursts(levels []float64, burst, every, end time.Duration) (int, func() error) {
	cancel := new(bool)
	inBurst, before := false, 0.0
	k := 0
	for t := nm.c.Now(); t+burst <= end; t += every {
		p := levels[k%len(levels)]
		k++
		nm.at(t, cancel, func() error {
			before, inBurst = nm.link.Loss, true
			return nm.setLinkLoss(p)
		})
		nm.at(t+burst, cancel, func() error {
			inBurst = false
			return nm.setLinkLoss(before)
		})
	}
	return k, func() error {
		*cancel = true
		if inBurst {
			inBurst = false
			return nm.setLinkLoss(before)
		}
		return nil
	}
}

// blip cuts node v off completely (both directions) for d, from now: a
// partition of one node that excuses nothing. Blips must not overlap each
// other or another partition.
func (nm *nemesis) blip(v int, d time.Duration) error {
	heal, err := nm.partition([][]int{{v}}, false)
	if err != nil {
		return err
	}
	nm.at(nm.c.Now()+d, nil, heal) // never cancelled: a cut node is always healed
	return nil
}

// stalls makes each node pause for a uniform [minStall, maxStall) after
// each uniform [minGap, maxGap) of running, from now until end. It calls
// onStall for each stall begun, and returns the function that cancels the
// stalls to come and resumes the nodes paused.
func (nm *nemesis) stalls(nodes []int, rng *rand.Rand, minStall, maxStall, minGap, maxGap, end time.Duration,
	onStall func(v int, d time.Duration)) func() error {
	cancel := new(bool)
	uniform := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	var cycle func(v int) func() error
	cycle = func(v int) func() error {
		return func() error {
			now := nm.c.Now()
			d := uniform(minStall, maxStall)
			if now+d > end || !nm.c.Running(v) {
				return nil
			}
			if err := nm.pause(v); err != nil {
				return err
			}
			if onStall != nil {
				onStall(v, d)
			}
			nm.at(now+d, nil, func() error { return nm.resume(v) })
			nm.at(now+d+uniform(minGap, maxGap), cancel, cycle(v))
			return nil
		}
	}
	now := nm.c.Now()
	for _, v := range nodes {
		nm.at(now+uniform(minGap, maxGap), cancel, cycle(v))
	}
	return func() error {
		*cancel = true
		for _, v := range nodes {
			if err := nm.resume(v); err != nil {
				return err
			}
		}
		return nil
	}
}
