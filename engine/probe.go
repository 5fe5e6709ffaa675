package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

// Why a probe was sent.
const (
	probeMonitor uint8 = iota + 1 // a subject's detector crossed its threshold
	probeRejoin                   // this node, declared dead, proves it can reach others
	probeCheck                    // a last look at a suspect we only heard of
)

// probe is an outstanding ping from this node.
type probe struct {
	target   ID
	addr     netip.AddrPort
	gen      uint64
	inc      uint32
	seq      uint32
	purpose  uint8
	indirect bool
	helpers  int
	nacks    int
	deadline Time
}

// relay is a ping this node sends on behalf of another (SWIM ping-req).
type relay struct {
	seq       uint32 // our ping's sequence
	target    ID
	origin    netip.AddrPort
	originSeq uint32
	deadline  Time
}

func (c *Core) probing(id ID) bool {
	for i := range c.probes {
		if c.probes[i].target == id && c.probes[i].purpose == probeMonitor {
			return true
		}
	}
	return false
}

// startProbe pings r directly.
func (c *Core) startProbe(now Time, r *record, purpose uint8) uint32 {
	c.probeNo++
	p := probe{
		target:   r.id,
		addr:     r.addr(),
		gen:      r.gen,
		inc:      r.inc,
		seq:      c.probeNo,
		purpose:  purpose,
		deadline: now.Add(c.health.Scale(c.cfg.ProbeTimeout)),
	}
	c.probes = append(c.probes, p)
	var about *record
	if purpose == probeCheck {
		about = r // the suspicion, so that the suspect can refute
	}
	c.ping(p.addr, p.seq, p.target, about)
	c.stats.Probes++
	return p.seq
}

// ping sends a ping, with the given record first when set (to remind a
// suspect), then pending updates.
func (c *Core) ping(to netip.AddrPort, seq uint32, target ID, about *record) {
	c.begin(codec.MsgPing)
	c.bld.AddPing(codec.Ping{Seq: seq, Target: uint64(target)})
	if about != nil {
		var m codec.Member
		c.wire(about, &m, c.id)
		c.bld.AddMember(&m)
	}
	c.piggyback()
	c.send(to, codec.MsgPing)
}

// onPing answers a ping meant for this node.
func (c *Core) onPing(now Time, from netip.AddrPort, p *codec.Ping) {
	if ID(p.Target) != c.id {
		c.stats.DropWrongTarget++
		return
	}
	c.begin(codec.MsgAck)
	c.bld.AddAck(codec.Ack{Seq: p.Seq, Target: uint64(c.id)})
	c.piggyback()
	c.send(from, codec.MsgAck)
}

// onAck resolves one of our probes, or forwards the ack of a relay.
func (c *Core) onAck(now Time, a *codec.Ack) {
	for i := range c.probes {
		p := &c.probes[i]
		if p.seq == a.Seq && uint64(p.target) == a.Target {
			done := *p
			c.removeProbe(i)
			c.probeAnswered(now, &done)
			return
		}
	}
	for i := range c.relays {
		r := &c.relays[i]
		if r.seq == a.Seq && uint64(r.target) == a.Target {
			origin, seq, target := r.origin, r.originSeq, r.target
			c.removeRelay(i)
			c.begin(codec.MsgAck)
			c.bld.AddAck(codec.Ack{Seq: seq, Target: uint64(target)})
			c.piggyback()
			c.send(origin, codec.MsgAck)
			return
		}
	}
}

func (c *Core) probeAnswered(now Time, p *probe) {
	c.health.Success()
	switch p.purpose {
	case probeRejoin:
		c.rejoinAnswered(now, p.seq)
	case probeMonitor:
		if m := c.monitorOf(p.target); m != nil {
			m.quietUntil = now.Add(c.cfg.HeartbeatInterval)
			m.due = max(m.phi.SuspectAt(), m.quietUntil)
		}
	}
}

// onNack counts a helper's report that it could not reach the target either.
func (c *Core) onNack(n *codec.Nack) {
	for i := range c.probes {
		p := &c.probes[i]
		if p.seq == n.Seq && uint64(p.target) == n.Target && p.indirect {
			p.nacks++
			c.stats.Nacks++
			return
		}
	}
}

// onPingReq pings the target on the requester's behalf.
func (c *Core) onPingReq(now Time, from netip.AddrPort, pr *codec.PingReq) {
	if ID(pr.Target) == c.id {
		// We are the target: answer the requester directly.
		c.begin(codec.MsgAck)
		c.bld.AddAck(codec.Ack{Seq: pr.Seq, Target: uint64(c.id)})
		c.piggyback()
		c.send(from, codec.MsgAck)
		return
	}
	if len(c.relays) >= c.cfg.MaxTransfers || !pr.Addr.IsValid() {
		c.stats.DropBusy++
		return
	}
	c.probeNo++
	c.relays = append(c.relays, relay{
		seq:       c.probeNo,
		target:    ID(pr.Target),
		origin:    from,
		originSeq: pr.Seq,
		// Answer before the requester gives up, so that a nack arrives in time.
		deadline: now.Add(c.cfg.IndirectTimeout * 4 / 5),
	})
	c.ping(pr.Addr, c.probeNo, ID(pr.Target), nil)
}

// expireRelays sends a nack for every relay whose target did not answer.
func (c *Core) expireRelays(now Time) {
	for i := 0; i < len(c.relays); {
		r := c.relays[i]
		if r.deadline > now {
			i++
			continue
		}
		c.removeRelay(i)
		c.begin(codec.MsgNack)
		c.bld.AddNack(codec.Nack{Seq: r.originSeq, Target: uint64(r.target)})
		c.send(r.origin, codec.MsgNack)
	}
}

// expireProbes moves failed direct probes to the indirect phase and decides
// failed indirect ones.
func (c *Core) expireProbes(now Time) {
	for i := 0; i < len(c.probes); {
		p := &c.probes[i]
		if p.deadline > now {
			i++
			continue
		}
		switch p.purpose {
		case probeRejoin:
			seq := p.seq
			c.removeProbe(i)
			c.rejoinFailed(now, seq)
			continue
		case probeCheck:
			c.removeProbe(i) // the suspicion timer decides
			continue
		}
		if !p.indirect {
			if c.indirect(now, p) {
				i++
				continue
			}
		} else if p.nacks == 0 {
			// Nobody we asked answered at all: the fault is as likely ours
			// as the target's. Lifeguard: distrust ourselves a little more,
			// and do not accuse on this evidence.
			c.health.Failure()
			c.stats.Inconclusive++
			target := p.target
			c.removeProbe(i)
			c.probeDecided(now, target)
			continue
		}
		done := *p
		c.removeProbe(i)
		c.accuse(now, &done)
		c.probeDecided(now, done.target)
	}
}

// probeDecided lets the subject's monitor look again one period later.
func (c *Core) probeDecided(now Time, id ID) {
	if m := c.monitorOf(id); m != nil {
		m.quietUntil = now.Add(c.cfg.HeartbeatInterval)
		m.due = max(m.phi.SuspectAt(), m.quietUntil)
		if s := c.susp[id]; s != nil && s.mine {
			m.due = now.Add(c.cfg.ProbeTimeout)
		}
	}
}

// indirect asks IndirectProbes random members to ping p's target. It returns
// false when no helper is available.
func (c *Core) indirect(now Time, p *probe) bool {
	var helpers [16]peer
	n := 0
	for try := 0; n < c.cfg.IndirectProbes && try < 4*c.cfg.IndirectProbes; try++ {
		r := c.tab.randomLive(c.rng, nil)
		if r == nil {
			break
		}
		if r.id == c.id || r.id == p.target || containsPeer(helpers[:n], r.id) {
			continue
		}
		helpers[n] = peer{r.id, r.addr()}
		n++
	}
	if n == 0 {
		return false
	}
	p.indirect = true
	p.helpers = n
	p.deadline = now.Add(c.health.Scale(c.cfg.IndirectTimeout))
	req := codec.PingReq{Seq: p.seq, Target: uint64(p.target), Addr: p.addr}
	for _, h := range helpers[:n] {
		c.begin(codec.MsgPingReq)
		c.bld.AddPingReq(req)
		c.piggyback()
		c.send(h.addr, codec.MsgPingReq)
	}
	c.stats.IndirectProbes++
	return true
}

func containsPeer(ps []peer, id ID) bool {
	for _, p := range ps {
		if p.id == id {
			return true
		}
	}
	return false
}

func (c *Core) removeProbe(i int) {
	c.probes = append(c.probes[:i], c.probes[i+1:]...)
}

func (c *Core) removeRelay(i int) {
	c.relays = append(c.relays[:i], c.relays[i+1:]...)
}
