package engine

import "github.com/hearsay-io/hearsay/codec"

// gossip pushes pending updates to GossipFanout random live members, one
// datagram each, least-sent updates first.
func (c *Core) gossip(now Time) {
	var targets [64]peer
	n := 0
	f := c.cfg.GossipFanout
	for try := 0; n < f && try < 4*f; try++ {
		r := c.tab.randomLive(c.rng, nil)
		if r == nil {
			break
		}
		if r.id == c.id || containsPeer(targets[:n], r.id) || c.failedRecently(r) || c.verifying(r.id) {
			continue
		}
		if !c.verified(r) {
			// Never answered us at this address: its updates go in a
			// ping, whose ack proves the address (and pulls its updates).
			if c.q.len() == 0 {
				return
			}
			c.startProbe(now, r, probeVerify)
			n++
			continue
		}
		targets[n] = peer{r.id, r.addr()}
		n++
	}
	for _, t := range targets[:n] {
		if t.id == 0 {
			continue
		}
		if c.q.len() == 0 {
			return
		}
		c.begin(codec.MsgGossip)
		if c.piggyback() == 0 {
			return
		}
		c.send(t.addr, codec.MsgGossip)
	}
}
