package sim

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/engine"
)

// Crash stops node i at once, as a killed process: its socket closes and its
// state is lost.
func (s *Sim) Crash(i int) {
	n := s.nodes[i]
	if n.crashed {
		return
	}
	n.crashed = true
	n.ver++
	n.retire()
	n.ep.Close()
}

// Restart starts a crashed node again with the same ID and the next
// generation, and joins it through the given seeds (none: it starts alone).
func (s *Sim) Restart(i int, seeds ...netip.AddrPort) error {
	n := s.nodes[i]
	if !n.crashed {
		s.Crash(i)
	}
	gen := n.Core.Generation() + 1
	if err := s.boot(n, gen); err != nil {
		return err
	}
	if len(seeds) > 0 {
		return s.Join(i, seeds...)
	}
	return nil
}

// Join makes node i join through seeds.
func (s *Sim) Join(i int, seeds ...netip.AddrPort) error {
	n := s.nodes[i]
	err := n.Core.Join(s.now(), seeds)
	s.call(n)
	return err
}

// Leave makes node i leave gracefully; it keeps running until its Left
// record has spread, then it stops like a crashed node would.
func (s *Sim) Leave(i int) {
	n := s.nodes[i]
	n.Core.Leave(s.now())
	s.call(n)
}

// Pause freezes node i: it runs no timers and processes no datagram;
// datagrams to it queue as in a socket buffer.
func (s *Sim) Pause(i int) {
	n := s.nodes[i]
	if n.crashed || n.paused {
		return
	}
	n.paused = true
	n.ver++
	s.net.Pause(n.Addr)
}

// Resume unfreezes node i: it first reads what queued, then runs its
// overdue timers. With a cost model, reading takes time: the node reads
// the first datagram, runs its timers when that is done, and reads the
// rest as its CPU allows (see CostModel).
func (s *Sim) Resume(i int) {
	n := s.nodes[i]
	if !n.paused {
		return
	}
	n.paused = false
	n.resumed = s.now()
	s.net.Resume(n.Addr)
	if n.crashed || n.paused { // a handler's event hook stopped it again
		return
	}
	n.scheduled = 0
	if s.net.Now() < n.busyUntil {
		s.schedule(n)
		return
	}
	s.tick(n, s.now())
}

// SetState sets a key of node i's application state.
func (s *Sim) SetState(i int, key, value []byte) error {
	n := s.nodes[i]
	err := n.Core.SetState(s.now(), key, value)
	s.call(n)
	return err
}

// Crashed reports whether node i is crashed.
func (n *Node) Crashed() bool { return n.crashed }

// Paused reports whether node i is paused.
func (n *Node) Paused() bool { return n.paused }

// Running reports whether node i runs (neither crashed nor paused).
func (n *Node) Running() bool { return !n.crashed && !n.paused }

// View returns what node i believes of node j.
func (s *Sim) View(i, j int) (engine.Member, bool) {
	return s.nodes[i].Core.Member(s.nodes[j].ID)
}

// Running returns the indices of running nodes.
func (s *Sim) Running() []int {
	var r []int
	for _, n := range s.nodes {
		if n.Running() {
			r = append(r, n.Index)
		}
	}
	return r
}
