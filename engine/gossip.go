package engine

import "github.com/hearsay-io/hearsay/codec"

// gossip pushes pending updates to GossipFanout random live members, one
// datagram each, least-sent updates first. When more updates are pending
// than GossipFanout datagrams carry (a mass failure, a healed partition),
// the round sends to as many more members as the backlog fills, up to
// maxFanoutFactor times GossipFanout: capacity follows the backlog within a
// fixed datagram budget. A member that never answered
// this node's probes at its address (see admission.go) is sent the round's
// updates in a ping instead, whose ack proves the address and pulls the
// member's own updates; one that did not answer such a ping lately is
// passed over.
func (c *Core) gossip(now Time) {
	var targets [64]peer
	n := 0
	f := c.fanout()
	for try := 0; n < f && try < 4*f; try++ {
		r := c.tab.randomLive(c.rng, nil)
		if r == nil {
			break
		}
		if r.id == c.id || containsPeer(targets[:n], r.id) || c.failedRecently(r) || c.verifying(r.id) {
			continue
		}
		targets[n] = peer{r.id, r.addr()}
		n++
	}
	for _, t := range targets[:n] {
		if c.q.len() == 0 {
			return
		}
		r := c.lookup(t.id)
		if !c.verified(r) {
			c.startProbe(now, r, probeVerify)
			continue
		}
		c.begin(codec.MsgGossip)
		if c.piggyback() == 0 {
			return
		}
		c.send(t.addr, codec.MsgGossip)
	}
}

// maxFanoutFactor bounds how far a backlog widens a gossip round.
const maxFanoutFactor = 4

// fanout is the number of members a gossip round sends to: GossipFanout,
// or as many datagrams as the pending updates fill, up to
// maxFanoutFactor·GossipFanout (and 64).
func (c *Core) fanout() int {
	per := (c.cfg.MaxDatagramSize - codec.HeaderSize - codec.SectionHeaderSize) / codec.MemberSize
	need := (c.q.len() + per - 1) / max(per, 1)
	return min(max(c.cfg.GossipFanout, need), maxFanoutFactor*c.cfg.GossipFanout, 64)
}
