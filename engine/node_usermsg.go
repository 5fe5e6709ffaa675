package engine

// Broadcast sends payload to every live member of the cluster, by gossip;
// each delivers it once, as EventMessage with Broadcast set (subscribe with
// Subscribe(buf, EventMessage)). The node copies payload. It is best
// effort: Core.Broadcast gives the delivery probability and the bounds.
//
// Errors: ErrMessageSize (payload over Config.MaxMessageSize), ErrLeft,
// ErrClosed.
func (n *Node) Broadcast(payload []byte) error {
	var err error
	if e := n.do(func(now Time) { err = n.core.Broadcast(now, payload) }); e != nil {
		return e
	}
	return err
}

// Send sends payload to member to alone, in one datagram sealed for it; it
// arrives there as EventMessage. It is best effort: no acknowledgement, no
// retry. A member whose address this node has not yet seen answer is pinged
// first; see Core.Send. The node copies payload.
//
// Errors: ErrMessageSize (payload over Config.MaxMessageSize), ErrNoMember
// (to is not a live member, or is this node), ErrLeft, ErrClosed.
func (n *Node) Send(to ID, payload []byte) error {
	var err error
	if e := n.do(func(now Time) { err = n.core.Send(now, to, payload) }); e != nil {
		return e
	}
	return err
}
