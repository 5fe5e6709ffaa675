package engine

import "github.com/hearsay-io/hearsay/codec"

// gossip pushes pending updates to GossipFanout random live members, one
// datagram each, least-sent updates first. Only members that answered this
// node's probes at their address (see admission.go) are pushed to: a random
// member that never did is replaced by one drawn from those that did,
// except one a round, which gets the round's updates in a ping whose ack
// proves its address (and pulls its updates), so that the verified members
// stay a fresh random sample of the cluster. When more updates are pending
// than GossipFanout datagrams carry (a mass failure, a healed partition),
// the round sends to as many more members as the backlog fills, up to
// maxFanoutFactor times GossipFanout: capacity follows the backlog within a
// fixed datagram budget. User broadcasts ride in the room the updates
// leave; they do not widen a round.
func (c *Core) gossip(now Time) {
	var targets [64]peer
	n, pinged := 0, false
	f := c.fanout()
	for try := 0; n < f && try < 4*f; try++ {
		r := c.tab.randomLive(c.rng, nil)
		if r != nil && !c.verified(r) {
			// A member that never answered us at this address: one a
			// round gets the round's updates in a ping; the others are
			// replaced by members that did answer us.
			if !pinged && r.id != c.id && !c.failedRecently(r) && !c.verifying(r.id) && c.q.pending() > 0 {
				c.startProbe(now, r, probeVerify)
				pinged = true
				n++
				continue
			}
			r = c.randomVerified()
		}
		if r == nil || r.id == c.id || containsPeer(targets[:n], r.id) {
			continue
		}
		targets[n] = peer{r.id, r.addr()}
		n++
	}
	for _, t := range targets[:n] {
		if t.id == 0 {
			continue
		}
		if c.q.pending() == 0 {
			return
		}
		c.begin(codec.MsgGossip)
		if c.piggyback() == 0 {
			return
		}
		c.aim(t.addr, t.id)
		c.send(t.addr, codec.MsgGossip)
	}
}

// maxFanoutFactor bounds how far a backlog widens a gossip round: with the
// default GossipFanout of 4, at most 32 datagrams a round (160 a second at
// the default GossipInterval, about 220 KB/s), and only while pending
// updates fill them. Dissemination, not detection, bounds how soon a mass
// failure is known everywhere: with 900 of 3,000 nodes crashed at once, a
// factor of four had every survivor know every crash 10.55 s after it, and
// eight 9.63 s (engine/sim TestMassCrash3000).
const maxFanoutFactor = 8

// fanout is the number of members a gossip round sends to: GossipFanout,
// or as many datagrams as the pending updates fill, up to
// maxFanoutFactor·GossipFanout (and 64).
func (c *Core) fanout() int {
	per := (c.cfg.MaxDatagramSize - codec.HeaderSize - codec.SectionHeaderSize) / codec.MemberSize
	need := (c.q.len() + per - 1) / max(per, 1)
	return min(max(c.cfg.GossipFanout, need), maxFanoutFactor*c.cfg.GossipFanout, 64)
}
