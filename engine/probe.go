package engine

import (
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/codec"
)

// Why a probe was sent.
const (
	probeMonitor uint8 = iota + 1 // a subject's detector crossed its threshold
	probeRejoin                   // this node, declared dead, proves it can reach others
	probeCheck                    // a last look at a suspect we only heard of
	probeVerify                   // a gossip target or subject answers at its address, and a round-trip sample
)

// checkOdds is the chance loss alone may have of defeating every ping of
// a last look at a suspect (probeCheck) and its ack. The look decides a
// death that this node only heard of, which a live suspect's refutation
// has not yet reached (the rumour missed it, and exchanges between
// members fail often at high loss): probePings' four at most left a slow
// member's death to loss (30% loss on every link, 50 of 1,000 nodes
// slow: two of four pings reached the member, both acks were lost, one
// time in 15 at that loss), and a look is rare enough to send more. The
// pings go at once, under one sequence: any ack, however late within
// the look's wait, clears it.
const checkOdds = 1e-3

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
	sent     Time
	deadline Time
}

// relay is a ping this node sends on behalf of another (SWIM ping-req).
type relay struct {
	seq       uint32 // our ping's sequence
	target    ID
	origin    netip.AddrPort
	originID  ID
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
	p := c.addProbe(now, r, purpose)
	var about *record
	if purpose == probeCheck {
		about = r // the suspicion, so that the suspect can refute
	}
	pings := 1
	switch purpose {
	case probeMonitor:
		pings = probePings(c.subjectLoss(r.id))
	case probeCheck:
		pings = pingsAt(max(c.subjectLoss(r.id), c.checkLoss()), checkOdds, 1)
	}
	for i := 0; i < pings; i++ {
		c.ping(p.addr, p.seq, p.target, about)
	}
	return p.seq
}

// addProbe records a direct probe of r, about to be sent.
func (c *Core) addProbe(now Time, r *record, purpose uint8) probe {
	p := probe{
		target:   r.id,
		addr:     r.addr(),
		gen:      r.gen,
		inc:      r.inc,
		seq:      c.newSeq(),
		purpose:  purpose,
		sent:     now,
		deadline: now.Add(c.probeTimeout(r)),
	}
	c.probes = append(c.probes, p)
	c.stats.Probes++
	return p
}

// startQuietVerify verifies r with a ping that carries nothing but itself
// (see gossip): its ack makes r a member the next rounds may push to.
func (c *Core) startQuietVerify(now Time, r *record) {
	p := c.addProbe(now, r, probeVerify)
	c.sidePing(p.addr, p.seq, p.target, nil)
}

// verifying reports whether a verification ping to id is outstanding.
func (c *Core) verifying(id ID) bool {
	for i := range c.probes {
		if c.probes[i].target == id && c.probes[i].purpose == probeVerify {
			return true
		}
	}
	return false
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
	c.aim(to, target)
	if about != nil && about.id == target && (!c.reply.active || to != c.reply.from) {
		c.pad = c.claimPad()
	}
	c.send(to, codec.MsgPing)
	c.pad = 0
}

// onPing answers a ping meant for this node.
func (c *Core) onPing(now Time, from netip.AddrPort, p *codec.Ping) {
	if ID(p.Target) != c.id {
		c.stats.DropWrongTarget++
		return
	}
	c.beginTo(codec.MsgAck, from)
	c.bld.AddAck(codec.Ack{Seq: p.Seq, Target: uint64(c.id), Loss: c.lossReport()})
	withSelf := false
	if c.reply.selfFirst && c.reply.active && from == c.reply.from {
		// The sender holds us dead from before our last refutation
		// (aboutSelf; a heal notice, a doubt's check): our record goes
		// in the ack, ahead of the piggybacked updates that would
		// otherwise use up the room it needs in the reply budget
		// (endReply's tellSelf comes last). A ping carrying a record is
		// as large as the ack carrying ours. Stale suspicions, which
		// piggybacked gossip carries often, keep tellSelf: ours in every
		// such ack displaced other updates (30% loss at 200 nodes:
		// bytes sent per node per second during the loss 783 → 1,048).
		var m codec.Member
		c.wire(c.selfRecord(), &m, 0)
		if c.bld.AddMember(&m) {
			c.reply.self = false
			withSelf = true
		}
	}
	c.piggybackFree()
	c.send(from, codec.MsgAck)
	if c.reply.claimed && c.reply.active && from == c.reply.from && c.linkLoss() < flakyLoss {
		c.ackCopies(from, p.Seq, withSelf)
	}
}

// ackCopies answers a ping that came with a claim that this node is
// suspect or dead (a doubt's, watch's or revival's check) with more copies
// of its ack: as many as a probe sends pings at the loss this node sees
// (probePings, one less, as one went), within the reply budget, which
// the pinger pays for by padding its ping (sidePing). The check decides
// whether the pinger takes this node's death; copies of its pings alone
// left the answer to one ack each: in a one-way cut with 30% loss beside
// it, six acks to one member's pings, its watch's and its brief doubt's,
// were lost together and it declared this node dead (the nemesis mix at
// 1,000 nodes, seed 2, node 218 of node 949 at 8m1.4s). Copies carry the
// ack, with this node's record when the first did, and nothing else. A
// node whose links look bad (it misses half its subjects' heartbeats, as
// for MaxRefutations) sends none: it accepts removal rather than prolong
// its stay with more answers (with copies, one flaky node of five at 80%
// loss stayed a member at some healthy nodes: bench
// TestFlakyRemovedEverySeed, seed 18).
func (c *Core) ackCopies(to netip.AddrPort, seq uint32, withSelf bool) {
	size := c.probeSize() - codec.PingSize + codec.AckSize
	if withSelf {
		size = c.claimAckSize()
	}
	var m codec.Member
	if withSelf {
		c.wire(c.selfRecord(), &m, 0)
	}
	for range probePings(c.checkLoss()) - 1 {
		if c.reply.left < size {
			return
		}
		c.beginTo(codec.MsgAck, to)
		c.bld.AddAck(codec.Ack{Seq: seq, Target: uint64(c.id), Loss: c.lossReport()})
		if withSelf {
			c.bld.AddMember(&m)
		}
		c.send(to, codec.MsgAck)
		c.stats.AckCopies++
	}
}

// claimPad is the least size on the wire of a ping that carries a claim
// against the member it goes to: enough for the copies of the ack it calls
// for (ackCopies), at the loss this node expects, to fit the member's
// reply budget for it; 0 when one ack is enough. The copies are answers,
// so the pinger pays for them, as a ping-req pays for its helper's pings
// (pingReqPad): a forged claim gets no more bytes back than it sent.
func (c *Core) claimPad() int {
	if n := probePings(c.checkLoss()); n > 1 {
		return n * c.claimAckSize()
	}
	return 0
}

// claimAckSize is the size on the wire of an ack that carries this node's
// record: the largest answer to a ping with a claim about this node.
func (c *Core) claimAckSize() int {
	return c.selfSize() + codec.SectionHeaderSize + codec.AckSize
}

// onAck resolves one of our probes, or forwards the ack of a relay.
func (c *Core) onAck(now Time, a *codec.Ack) {
	for i := range c.probes {
		p := &c.probes[i]
		if p.seq == a.Seq && uint64(p.target) == a.Target {
			done := *p
			c.removeProbe(i)
			c.reports.add(now, a.Loss)
			c.probeAnswered(now, &done, a.Loss)
			return
		}
	}
	for i := range c.relays {
		r := &c.relays[i]
		if r.seq == a.Seq && uint64(r.target) == a.Target {
			origin, originID, seq, target := r.origin, r.originID, r.originSeq, r.target
			c.removeRelay(i)
			// The ping-req paid for this ack and no more (see onPingReq):
			// no piggybacked updates.
			c.begin(codec.MsgAck)
			c.bld.AddAck(codec.Ack{Seq: seq, Target: uint64(target), Loss: a.Loss})
			c.aim(origin, originID)
			c.send(origin, codec.MsgAck)
			return
		}
	}
	if c.doubtAnswered(a) || c.watchAnswered(a) || c.revivalAnswered(now, a) || c.admitAck(now, a) || c.lateAck(now, a) {
		c.reports.add(now, a.Loss) // it answered a ping of ours (lossReports)
	}
}

func (c *Core) probeAnswered(now Time, p *probe, loss uint16) {
	c.health.Success()
	sent := p.sent
	if p.indirect {
		sent = 0 // the round trip went through a helper: not a sample
	}
	c.probeAnsweredBy(now, p.target, p.addr, sent)
	switch p.purpose {
	case probeRejoin:
		c.rejoinAnswered(now, p.seq, loss)
	case probeMonitor:
		if m := c.monitorOf(p.target); m != nil {
			m.quietUntil = now.Add(c.quiet(m))
			m.due = c.checkAt(m)
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
		c.beginTo(codec.MsgAck, from)
		c.bld.AddAck(codec.Ack{Seq: pr.Seq, Target: uint64(c.id), Loss: c.lossReport()})
		c.piggybackFree()
		c.send(from, codec.MsgAck)
		return
	}
	// Relay only to a live member at the address we hold for it, so that a
	// ping-req cannot aim our pings at an address of its choosing.
	t := c.lookup(ID(pr.Target))
	if t == nil || !t.live() || t.addr() != pr.Addr {
		c.stats.DropWrongTarget++
		return
	}
	if len(c.relays) >= c.cfg.MaxTransfers {
		c.stats.DropBusy++
		return
	}
	// The pings we send and the ack or nack we return are the answer to
	// this datagram: all must fit its budget (a prober pads its ping-reqs
	// to pay for one ping; see pingReqPad). On lossy links a validated
	// requester's budget pays for as many pings as a direct probe sends,
	// so that one lost ping does not make the target look dead.
	pings := probePings(c.subjectLoss(ID(pr.Target)))
	if pings > 1 && c.reply.active && c.reply.from == from && (pings+1)*c.probeSize() > c.reply.left {
		pings = 1
	}
	if !c.charge(from, (pings+1)*c.probeSize()) {
		return
	}
	seq := c.newSeq()
	c.relays = append(c.relays, relay{
		seq:       seq,
		target:    ID(pr.Target),
		origin:    from,
		originID:  c.reply.sender,
		originSeq: pr.Seq,
		// Answer before the requester gives up, so that a nack arrives in time.
		deadline: now.Add(c.cfg.IndirectTimeout * 4 / 5),
	})
	for range pings {
		c.begin(codec.MsgPing)
		c.bld.AddPing(codec.Ping{Seq: seq, Target: pr.Target})
		c.aim(pr.Addr, ID(pr.Target))
		c.send(pr.Addr, codec.MsgPing)
	}
}

// probeSize is the size on the wire of a datagram holding one Ping, Ack or
// Nack and nothing else.
func (c *Core) probeSize() int {
	n := codec.HeaderSize + codec.SectionHeaderSize + codec.PingSize
	if c.keys != nil {
		n += codec.SealOverhead
	}
	return n
}

// pingReqPad is the least size of a ping-req datagram on the wire: enough
// for a helper to send the pings and the ack or nack it costs within the
// datagram's own reply budget, as many pings as the loss this node sees
// calls for (a helper sends as many as the loss it sees calls for, within
// that budget).
func (c *Core) pingReqPad() int {
	return (1 + probePings(max(c.meanLoss(false), c.nodeLoss()))) * c.probeSize()
}

// newSeq returns a random, non-zero probe sequence number: acks echo it,
// so one that cannot be guessed cannot be forged from off the path.
func (c *Core) newSeq() uint32 {
	for {
		if s := c.rng.Uint32(); s != 0 {
			return s
		}
	}
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
		c.aim(r.origin, r.originID)
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
		c.noteExpired(p)
		switch p.purpose {
		case probeRejoin:
			seq := p.seq
			c.removeProbe(i)
			c.rejoinFailed(now, seq)
			continue
		case probeCheck:
			c.removeProbe(i) // the suspicion timer decides
			continue
		case probeVerify:
			// Not answered at its address: not a gossip target for a while.
			// Whether it is alive is its observers' call; an observer that
			// just took it on probes it at once (see monitor.unanswered).
			if r := c.lookup(p.target); r != nil && r.addr() == p.addr {
				t := c.trustEntry(p.target, r.gen, p.addr)
				c.unverify(p.target, t)
				t.failed = now
			}
			if m := c.monitorOf(p.target); m != nil && m.beat == 0 && c.now.Sub(c.env.Now) > 3*c.cfg.HeartbeatInterval {
				m.unanswered = true
				m.due = min(m.due, c.checkAt(m))
			}
			c.removeProbe(i)
			continue
		}
		if !p.indirect {
			if c.indirect(now, p) {
				i++
				continue
			}
			if c.tab.live > 2 {
				// No member we verified can help (a node just started):
				// one failed ping is not evidence enough to accuse; look
				// again next period.
				c.stats.Inconclusive++
				target := p.target
				c.removeProbe(i)
				c.probeDecided(now, target)
				continue
			}
		} else if p.nacks == 0 {
			// Nobody we asked answered at all: the fault is as likely ours
			// as the target's. Lifeguard: distrust ourselves a little more,
			// and do not accuse on this evidence.
			c.healthFailure(now)
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

// maxQuiet bounds, in periods, how long an answered probe quiets a subject
// that sends us no heartbeat.
const maxQuiet = 8

// quiet returns how long an answered probe of m's subject quiets it, and
// doubles the next one while the subject sends us no heartbeat.
func (c *Core) quiet(m *monitor) time.Duration {
	d := max(m.quietFor, c.cfg.HeartbeatInterval)
	if m.beat == 0 {
		m.quietFor = min(2*d, maxQuiet*c.cfg.HeartbeatInterval)
	}
	return d
}

// overtaken ends the probe of subject id that is out, if any, when a new
// heartbeat of the subject arrives before the probe's answer: the subject
// ran after the probe was sent, less a one-way trip, and the probe, which
// would have accused it at its end, has nothing left to show. A slow link
// does this: with 0.5 to 2 s of delay each way begun beside 30% loss (50
// of 1,000 nodes), a heartbeat of a member that had just turned slow came
// 0.15 s before its probe ran out, the probe accused the member, and the
// accuser, having heard nothing since, declared it dead at the end of its
// timer while its refutation was on the way. The probe is remembered as
// run out, so that its ack, if it comes, still gives a round trip
// (lateAck); the monitor looks again when the detector says (onHeartbeat
// set when).
func (c *Core) overtaken(id ID) {
	for i := range c.probes {
		if p := &c.probes[i]; p.target == id && p.purpose == probeMonitor {
			c.noteExpired(p)
			c.removeProbe(i)
			c.stats.ProbesOvertaken++
			return
		}
	}
}

// probeDecided lets the subject's monitor look again one period later.
func (c *Core) probeDecided(now Time, id ID) {
	if m := c.monitorOf(id); m != nil {
		m.quietUntil = now.Add(c.cfg.HeartbeatInterval)
		m.due = c.checkAt(m)
		if s := c.susp[id]; s != nil && s.mine {
			m.due = now.Add(c.cfg.ProbeTimeout)
		}
	}
}

// indirect asks IndirectProbes random members to ping p's target. It returns
// false when no helper is available.
func (c *Core) indirect(now Time, p *probe) bool {
	// Helpers are members that answered our own probes at their address:
	// first random ones, then our subjects (which we probe regularly).
	var helpers [16]peer
	n := 0
	usable := func(r *record) bool {
		return r != nil && r.live() && r.id != c.id && r.id != p.target && c.verified(r) && !containsPeer(helpers[:n], r.id)
	}
	want := c.probeHelpers(c.subjectLoss(p.target))
	for try := 0; n < want && try < 4*want; try++ {
		if r := c.randomVerified(); usable(r) {
			helpers[n] = peer{r.id, r.addr()}
			n++
		}
	}
	for _, m := range c.monitors {
		if n >= want {
			break
		}
		if r := c.lookup(m.id); usable(r) {
			helpers[n] = peer{r.id, r.addr()}
			n++
		}
	}
	if n == 0 {
		return false
	}
	p.indirect = true
	p.helpers = n
	// A helper's round trip is two of ours.
	timeout := c.cfg.IndirectTimeout
	if r := c.lookup(p.target); r != nil {
		timeout = max(timeout, 2*c.probeTimeout(r))
	}
	p.deadline = now.Add(c.health.Scale(timeout))
	req := codec.PingReq{Seq: p.seq, Target: uint64(p.target), Addr: p.addr}
	for _, h := range helpers[:n] {
		c.begin(codec.MsgPingReq)
		c.bld.AddPingReq(req)
		c.piggyback()
		c.aim(h.addr, h.id)
		c.send(h.addr, codec.MsgPingReq)
	}
	// Keep trying the direct path too (SWIM does): the direct pings just
	// lost are evidence of loss the estimate may not show yet (loss that
	// just began), and a round trip is as likely to get through directly
	// as through a helper, for the price of a few small pings.
	var about *record
	if p.purpose == probeCheck {
		about = c.lookup(p.target)
	}
	for range max(2, probePings(c.subjectLoss(p.target))) {
		c.ping(p.addr, p.seq, p.target, about)
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

// lateAcks remembers probes that ran out, so that an ack arriving after
// its probe's timeout still measures the member's round trip (a slow
// member's probe timeout then stretches to fit, see probeTimeout) and
// still shows the member answers at its address.
const lateAcks = 64

type expired struct {
	seq    uint32
	target ID
	addr   netip.AddrPort
	sent   Time
}

// noteExpired remembers a direct probe that ran out.
func (c *Core) noteExpired(p *probe) {
	if p.indirect || p.seq == 0 {
		return
	}
	c.late[c.lateNext%lateAcks] = expired{seq: p.seq, target: p.target, addr: p.addr, sent: p.sent}
	c.lateNext++
}

// lateAck takes an ack for a probe that ran out as a round-trip sample,
// and reports whether it was one.
func (c *Core) lateAck(now Time, a *codec.Ack) bool {
	for i := range c.late {
		e := &c.late[i]
		if e.seq != 0 && e.seq == a.Seq && uint64(e.target) == a.Target {
			c.probeAnsweredBy(now, e.target, e.addr, e.sent)
			c.stats.LateAcks++
			*e = expired{}
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
