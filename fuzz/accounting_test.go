package fuzz_test

import (
	"fmt"
	"slices"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// The checker's accounting of a received datagram: how the gate's verdict
// (reading_test.go) shows in the counters, what a refused datagram must
// leave alone, and how answers to the node's own requests (peers_test.go)
// are counted and followed.

// datagramDrops sums the counters of datagrams dropped whole before any
// of their content is used, and of nothing else.
func datagramDrops(s *engine.Stats) uint64 {
	return s.DropTruncated + s.DropMalformed + s.DropForeign + s.DropCluster + s.DropSealed +
		s.DropUnsealed + s.DropUnknownKey + s.DropAuth + s.DropTooLarge + s.DropSelf + s.DropUnknownType +
		s.DropCompressed + s.DropReplay + s.DropAddr
}

// stripDrops clears what a rejected datagram may change in Stats.
func stripDrops(s engine.Stats) engine.Stats {
	s.DatagramsIn, s.BytesIn = 0, 0
	s.DropTruncated, s.DropMalformed, s.DropForeign, s.DropCluster, s.DropSealed = 0, 0, 0, 0, 0
	s.DropUnsealed, s.DropUnknownKey, s.DropAuth, s.DropTooLarge, s.DropSelf = 0, 0, 0, 0, 0
	s.DropUnknownType, s.DropCompressed, s.DropReplay, s.DropUnsolicited, s.RefusedImplausible = 0, 0, 0, 0, 0
	s.DropAddr = 0
	return s
}

// afterReceive checks the core after it handled datagram b.
func (ck *checker) afterReceive(pre snapshot, b []byte) {
	st := ck.core.Stats()
	if st.DatagramsIn != pre.stats.DatagramsIn+1 {
		ck.failf("DatagramsIn went from %d to %d for one datagram", pre.stats.DatagramsIn, st.DatagramsIn)
	}
	rd := ck.read(b)
	if rd.ok {
		ck.sawDatagram(&rd)
	}
	drops := datagramDrops(&st) - datagramDrops(&pre.stats)
	unsol := st.DropUnsolicited - pre.stats.DropUnsolicited
	implausible := st.RefusedImplausible - pre.stats.RefusedImplausible
	counted := func(t codec.MsgType) bool { return int(t) < len(st.In) && st.In[t] != pre.stats.In[t] }
	if rd.unsure && unsol == 1 && drops+implausible == 0 && !counted(codec.MsgShardData) {
		// Compressed shard data the node did not ask the source for after
		// all: refused at the gate, before anything else.
		rd = refused("compressed shard data not asked for", func(s *engine.Stats) uint64 { return s.DropUnsolicited })
	}
	if rd.seen != nil {
		rd.seen()
	}
	if !rd.ok {
		if n := drops + unsol + implausible; n != 1 {
			ck.failf("a datagram refused as %s moved the drop counters by %d, want 1", rd.cause, n)
		}
		if rd.count != nil && rd.count(&st) != rd.count(&pre.stats)+1 {
			ck.failf("a datagram refused as %s was not counted there", rd.cause)
		}
		ck.unchanged(pre, st, "a datagram refused as "+rd.cause)
		return
	}
	if ck.leaving && !counted(rd.header.Type) {
		// A node that has left reads nothing more.
		if drops+unsol+implausible != 0 {
			ck.failf("a node that left counted a datagram as dropped")
		}
		ck.unchanged(pre, st, "a datagram after leaving")
		return
	}
	if drops != 0 {
		ck.failf("a well-formed datagram of type %v was counted as dropped (%d)", rd.header.Type, drops)
	}
	if t := rd.header.Type; int(t) < len(st.In) && st.In[t] != pre.stats.In[t]+1 {
		ck.failf("a well-formed datagram of type %v was not counted in Stats.In", t)
	}
	applied := ck.checkSolicited(&rd, unsol)
	ck.checkValidation(&rd, pre, st)
	ck.selfClaims(&pre, &rd, applied)
	if applied == yes {
		ck.checkAboutSelf(pre, &rd)
	}
	ck.checkReplies(&pre, &rd, len(b))
	ck.checkAnswersSealed(&rd)
	ck.checkAdmission(&pre, &rd)
	if applied != no {
		ck.trackKeys(&rd)
	}
	if st.RefusedReplies != pre.stats.RefusedReplies {
		// An answer that did not fit may have noted a request it did not
		// send (address validation, shard requests).
		ck.peers.blind[ck.from] = ck.now
	}
	ck.checkView(false)
}

// unchanged checks that a datagram the node did not read changed nothing
// but its drop counters.
func (ck *checker) unchanged(pre snapshot, st engine.Stats, what string) {
	if stripDrops(st) != stripDrops(pre.stats) {
		ck.failf("%s changed counters other than its drop:\nbefore %+v\nafter  %+v", what, pre.stats, st)
	}
	if ck.out.Len() != 0 || len(ck.events) != pre.events || ck.core.Incarnation() != pre.inc ||
		ck.core.Generation() != pre.gen || ck.core.Digest() != pre.digest {
		ck.failf("%s changed the node: %d replies, %d events, generation %d -> %d, incarnation %d -> %d",
			what, ck.out.Len(), len(ck.events)-pre.events, pre.gen, ck.core.Generation(), pre.inc, ck.core.Incarnation())
	}
	ck.members = ck.core.Members(ck.members[:0])
	if !slices.Equal(ck.members, ck.before) {
		ck.failf("%s changed the member view", what)
	}
	ck.checkView(false)
}

// checkSolicited checks how an accepted datagram that must answer a request
// of the node's (shard data, sync and join replies, Retry) was counted, and
// returns whether the node applies its records.
func (ck *checker) checkSolicited(rd *reading, unsol uint64) tri {
	applied := ck.applied(rd)
	// want checks DropUnsolicited for an answer that is (or may be)
	// unsolicited.
	want := func(what string, unsolicited tri, max uint64) {
		switch {
		case unsolicited == yes && unsol != max:
			ck.failf("%s counted %d times in DropUnsolicited, want %d", what, unsol, max)
		case unsolicited == no && unsol != 0:
			ck.failf("%s counted in DropUnsolicited", what)
		case unsolicited == maybe && unsol > max:
			ck.failf("%s counted %d times in DropUnsolicited, want at most %d", what, unsol, max)
		}
	}
	h := &rd.header
	switch h.Type {
	case codec.MsgShardData:
		// The node applies it exactly when it answers an open request:
		// the counter settles what the checker cannot see.
		want(fmt.Sprintf("shard data from %v", ck.from), ck.notApplied(applied), 1)
		if applied == maybe {
			applied = yes
			if unsol != 0 {
				applied = no
			}
		}
	case codec.MsgJoinReply:
		want(fmt.Sprintf("a join reply from %v", ck.from), ck.notApplied(applied), 1)
		if applied == maybe {
			applied = yes
			if unsol != 0 {
				applied = no
			}
		}
	case codec.MsgSyncReply:
		want(fmt.Sprintf("a sync reply from %v", ck.from), ck.notApplied(ck.expected(ck.from)), 1)
	case codec.MsgRetry:
		ck.checkRetry(rd, unsol)
	default:
		if unsol != 0 {
			ck.failf("a %v datagram counted in DropUnsolicited", h.Type)
		}
	}
	return applied
}

// notApplied turns "applied" into "unsolicited", or "expected" into
// "unexpected".
func (ck *checker) notApplied(t tri) tri { return yes - t }

// checkRetry checks what the node did with a Retry: it follows one from an
// address it sent the named request to within expectWindow; any other is
// DropUnsolicited. A Retry that asks to go again at once (After 0) is
// followed once per request type within expectWindow; one with a wait is
// always followed, since it sends nothing at once and cannot loop. A Retry
// with a token it follows for a Sync makes it send the Sync again with an
// Echo of the token.
func (ck *checker) checkRetry(rd *reading, unsol uint64) {
	x, ok := retryOf(rd)
	if !ok {
		if unsol != 0 {
			ck.failf("a Retry datagram without a Retry record counted in DropUnsolicited")
		}
		return
	}
	p := &ck.peers
	f := p.followed[ck.from]
	dup := x.After == 0 && f.typ == x.For && within(f.at, ck.now, expectWindow)
	exp := ck.expectedFor(ck.from, x.For)
	switch {
	case dup || exp == no:
		if unsol != 1 {
			ck.failf("a Retry for %v from %v (asked: %v, followed one at %v) counted %d times in DropUnsolicited, want 1",
				x.For, ck.from, exp, f.at, unsol)
		}
		return
	case exp == yes && unsol != 0:
		ck.failf("a Retry for %v from %v, which the node asked, counted in DropUnsolicited", x.For, ck.from)
		return
	case unsol != 0:
		return
	}
	if x.After != 0 {
		return
	}
	p.followed[ck.from] = retryMark{typ: x.For, at: ck.now}
	if x.For != codec.MsgSync || x.After != 0 || x.Token == 0 {
		return
	}
	for _, msg := range ck.out.Messages() {
		if msg.Addr != ck.from {
			continue
		}
		if h, body, ok := ck.openOut(msg.Addr, msg.Buf[:msg.N]); ok && h.Type == codec.MsgSync && hasEcho(int(h.Sections), body, x.Token, x.Epoch) {
			return
		}
	}
	ck.failf("followed a Retry for a sync from %v with token %#x, but sent no sync echoing it", ck.from, x.Token)
}

// hasEcho reports whether a body carries an Echo of token and epoch.
func hasEcho(sections int, body []byte, token uint64, epoch uint32) bool {
	var r codec.Reader
	r.Reset(sections, body)
	for r.Next() {
		if r.Type() != codec.RecEcho {
			continue
		}
		for i := 0; i < r.Count(); i++ {
			if e, _, _ := codec.ParseEcho(r.Record(i)); e.Token == token && e.Epoch == epoch {
				return true
			}
		}
	}
	return false
}

// checkValidation checks the answers to requests that need a validated
// address: a Join or ShardRequest from an address that did not prove itself
// gets a Retry with a token and nothing that serves it (no join reply, no
// shard data, no digests, no shard request back).
func (ck *checker) checkValidation(rd *reading, pre snapshot, st engine.Stats) {
	t := rd.header.Type
	if t != codec.MsgJoin && t != codec.MsgShardRequest || ck.leaving {
		return
	}
	val := ck.validated(ck.from, rd)
	retried := st.RetriesSent - pre.stats.RetriesSent
	switch {
	case val == no && retried != 1:
		ck.failf("a %v from %v, which did not prove its address, was answered with %d Retry tokens, want 1", t, ck.from, retried)
	case val == yes && retried != 0:
		ck.failf("a %v from %v, which proved its address, was answered with a Retry token", t, ck.from)
	}
	if val == no {
		for _, msg := range ck.out.Messages() {
			if msg.Addr != ck.from {
				continue
			}
			// What serves a join or a shard request; the records of the
			// request are facts like a gossip's, which may still be
			// answered (a Verdict, an admission ping).
			switch h, _, ok := ck.openOut(msg.Addr, msg.Buf[:msg.N]); {
			case !ok:
			case h.Type == codec.MsgJoinReply, h.Type == codec.MsgShardData, h.Type == codec.MsgShardRequest,
				h.Type == codec.MsgSync, h.Type == codec.MsgSyncReply:
				ck.failf("a %v from %v, which did not prove its address, was answered with a %v", t, ck.from, h.Type)
			}
		}
	}
}

// checkAnswersSealed checks, in a cluster with keys, that the answers the
// node sent to the source of a datagram it accepted while handling it (an
// ack to its ping, a Retry, a sync or join reply, shard data) are sealed
// for the datagram's sender, whoever the node holds at that address: the
// sender is who asked (engine.Core's destID), and only it could open them.
func (ck *checker) checkAnswersSealed(rd *reading) {
	if ck.keys == nil {
		return
	}
	for _, msg := range ck.out.Messages() {
		if msg.Addr != ck.from {
			continue
		}
		b := msg.Buf[:msg.N]
		hv, err := codec.NewHeaderView(b)
		if err != nil {
			continue
		}
		switch hv.Type() {
		case codec.MsgAck, codec.MsgRetry, codec.MsgSyncReply, codec.MsgJoinReply, codec.MsgShardData:
		default:
			continue
		}
		if _, err := codec.OpenFor(nil, b, ck.keys, rd.header.Sender); err == nil {
			continue
		}
		if hv.Type() == codec.MsgAck {
			// A relayed ack (its target another member) goes to the
			// ping-req's sender, who may be elsewhere than this source.
			if h, body, ok := ck.openOut(msg.Addr, b); ok && !acksSelf(int(h.Sections), body, ck.self) {
				continue
			}
		}
		ck.failf("answered a %v from %v (sender %#x) with a %v that its sender cannot open: %s",
			rd.header.Type, ck.from, rd.header.Sender, hv.Type(), ck.whySealed(msg.Addr, b))
	}
}

// acksSelf reports whether an ack body answers a ping of the node itself.
func acksSelf(sections int, body []byte, self engine.ID) bool {
	var r codec.Reader
	r.Reset(sections, body)
	for r.Next() {
		if r.Type() != codec.RecAck {
			continue
		}
		for i := 0; i < r.Count(); i++ {
			if a, _, err := codec.ParseAck(r.Record(i)); err == nil && engine.ID(a.Target) == self {
				return true
			}
		}
	}
	return false
}
