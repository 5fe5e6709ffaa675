package sim

import "github.com/hearsay-io/hearsay/engine"

// Broadcast makes node i broadcast payload to every member (see
// engine.Core.Broadcast).
func (s *Sim) Broadcast(i int, payload []byte) error {
	n := s.nodes[i]
	err := n.Core.Broadcast(s.now(), payload)
	s.call(n)
	return err
}

// Send makes node i send payload to member to alone (see
// engine.Core.Send).
func (s *Sim) Send(i int, to engine.ID, payload []byte) error {
	n := s.nodes[i]
	err := n.Core.Send(s.now(), to, payload)
	s.call(n)
	return err
}
