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
//
// A widened round also verifies more members, with pings that carry
// nothing (quietVerifies): pushes go to distinct verified members, and a
// node holds few of them in steady state (its subjects, its helpers, its
// recent gossip targets, a few dozen), some of which the failure being
// spread may have taken. Without them a round stopped widening at the
// verified members it could draw (about 32 at 10,000 nodes, whatever the
// factor). The quiet pings are small and bounded, so what a round sends to
// addresses that never answered it grows from one full datagram by at most
// quietVerifies small pings.
func (c *Core) gossip(now Time) {
	var targets [64]peer
	n, pinged, quiet := 0, false, 0
	f := c.fanout()
	for try := 0; n < f && try < 4*f; try++ {
		r := c.tab.randomLive(c.rng, nil)
		if r != nil && !c.verified(r) {
			// A member that never answered us at this address: one a
			// round gets the round's updates in a ping; in a widened
			// round, some more get an empty ping; the others are
			// replaced by members that did answer us.
			if r.id != c.id && !c.failedRecently(r) && !c.verifying(r.id) {
				if !pinged && c.q.pending() > 0 {
					c.startProbe(now, r, probeVerify)
					pinged = true
					n++
					continue
				}
				if quiet < quietVerifies(f, c.cfg.GossipFanout) {
					c.startQuietVerify(now, r)
					quiet++
				}
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

// quietVerifies is how many members a gossip round of f datagrams
// verifies with empty pings: half the datagrams the backlog added to the
// round, none in a round of the usual fanout.
func quietVerifies(f, fanout int) int { return max(f-fanout, 0) / 2 }

// maxFanoutFactor bounds how far a backlog widens a gossip round: with the
// default GossipFanout of 4, at most 64 datagrams a round (320 a second at
// the default GossipInterval, about 450 KB/s), and only while pending
// updates fill them. Dissemination, not detection, bounds how soon a mass
// failure is known everywhere: with 900 of 3,000 nodes crashed at once, a
// factor of four had every survivor know every crash 10.55 s after it, and
// eight 9.63 s (engine/sim TestMassCrash3000). At 10,000 nodes with 3,000
// crashed, rounds did not widen past the verified members a node could
// draw (about 32, see gossip): factor 16 alone moved the last survivor's
// knowledge from 14.8 s to 14.5 s; with the quiet verifications, and at
// 3,000 nodes, factor 16 gives p50 5.44 s and max 8.03 s, factor 8 5.83 s
// and 8.83 s (gossipbench -scenario nemesis-mass-crash -n 3000 -duration
// 12s).
const maxFanoutFactor = 16

// fanout is the number of members a gossip round sends to: GossipFanout,
// or as many datagrams as the pending updates fill, up to
// maxFanoutFactor·GossipFanout (and 64).
func (c *Core) fanout() int {
	per := (c.cfg.MaxDatagramSize - codec.HeaderSize - codec.SectionHeaderSize) / codec.MemberSize
	need := (c.q.len() + per - 1) / max(per, 1)
	return min(max(c.cfg.GossipFanout, need), maxFanoutFactor*c.cfg.GossipFanout, 64)
}
