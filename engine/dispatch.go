package engine

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

// maxBody bounds a decompressed datagram body.
const maxBody = 64 << 10

func (c *Core) decompress(b []byte) (codec.Header, []byte, error) {
	h, err := codec.ParseHeader(b)
	if err != nil {
		return h, nil, err
	}
	z := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
	out, err := bulk.Decompress(c.zipBuf[:0], z, maxBody)
	if err != nil {
		return h, nil, err // wraps codec.ErrTooLarge or codec.ErrMalformed
	}
	c.zipBuf = out[:0]
	c.stats.BytesDecompressed += uint64(len(out))
	return h, out, nil
}

// applyFacts applies what a datagram states: heartbeats, acks and nacks,
// member records and state entries, and user messages.
func (c *Core) applyFacts(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	gossip := true
	switch h.Type {
	case codec.MsgShardData:
		if !c.solicited(now, from, h.Sections, body) {
			c.stats.DropUnsolicited++
			return
		}
		gossip = false // bulk transfers repair; they do not start rumours
	case codec.MsgJoinReply:
		if !c.expected(from) {
			c.stats.DropUnsolicited++
			return
		}
		gossip = false
	case codec.MsgJoin:
		if !c.reply.validated {
			return // answered with a Retry; nothing is taken from a stranger
		}
	}
	firstUser := true
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		n := c.rd.Count()
		switch c.rd.Type() {
		case codec.RecUser:
			x, p, _ := c.rd.User() // validated, with its payload section
			c.onUser(now, from, h, &x, p, firstUser, gossip)
			firstUser = false
		case codec.RecMember:
			for i := 0; i < n; i++ {
				m, _, _ := codec.ParseMember(c.rd.Record(i))
				if h.Type == codec.MsgJoin && m.ID != h.Sender {
					continue // a joiner speaks for itself only
				}
				c.mergeMember(now, &m, gossip)
			}
		case codec.RecState:
			for i := 0; i < n; i++ {
				e, _, _ := codec.ParseStateEntry(c.rd.Record(i))
				c.mergeState(now, &e, gossip)
			}
		case codec.RecHeartbeat:
			for i := 0; i < n; i++ {
				hb, _, _ := codec.ParseHeartbeat(c.rd.Record(i))
				c.onHeartbeat(now, h, &hb)
			}
		case codec.RecAck:
			for i := 0; i < n; i++ {
				a, _, _ := codec.ParseAck(c.rd.Record(i))
				c.onAck(now, &a)
			}
		case codec.RecNack:
			for i := 0; i < n; i++ {
				x, _, _ := codec.ParseNack(c.rd.Record(i))
				c.onNack(&x)
			}
		case codec.RecVerdict:
			for i := 0; i < n; i++ {
				v, _, _ := codec.ParseVerdict(c.rd.Record(i))
				c.onVerdict(now, ID(h.Sender), &v)
			}
		case codec.RecShardRef:
			if h.Type == codec.MsgShardData {
				for i := 0; i < n; i++ {
					ref, _, _ := codec.ParseShardRef(c.rd.Record(i))
					c.shardArrived(now, from, &ref)
				}
			}
		}
	}
}

// handleRequests answers what a datagram asks: pings, ping-reqs, digests,
// shard requests, joins.
func (c *Core) handleRequests(now Time, from netip.AddrPort, h *codec.Header, body []byte) {
	switch h.Type {
	case codec.MsgJoin, codec.MsgSync, codec.MsgShardRequest:
		if c.refusedSender(h) {
			return // refused by Admit: no view of the table (admit.go)
		}
	}
	switch h.Type {
	case codec.MsgJoin:
		c.onJoin(now, from, h)
		return
	case codec.MsgSync, codec.MsgSyncReply, codec.MsgJoinReply:
		c.onDigests(now, from, h, body)
		return
	case codec.MsgShardRequest:
		if !c.reply.validated {
			c.sendRetry(from, codec.MsgShardRequest, 0)
			return
		}
		c.onShardRequest(now, from, h, body)
		return
	case codec.MsgUser:
		// A user message is never answered, not even with a Verdict, so
		// that it cannot be turned into an amplifier.
		c.reply.verdict = 0
		return
	case codec.MsgRetry:
		c.rd.Reset(int(h.Sections), body)
		for c.rd.Next() {
			if c.rd.Type() == codec.RecRetry && c.rd.Count() > 0 {
				r, _, _ := codec.ParseRetry(c.rd.Record(0))
				c.onRetry(now, from, &r)
				return
			}
		}
		return
	}
	// The protocol sends one ping or one ping-req per datagram. Serving
	// only the first of each keeps a reply to a datagram from being larger
	// than one answer, so that a spoofed datagram of many pings cannot turn
	// this node into an amplifier; the rest are counted and ignored.
	pinged, relayed := false, false
	c.rd.Reset(int(h.Sections), body)
	for c.rd.Next() {
		n := c.rd.Count()
		switch c.rd.Type() {
		case codec.RecPing:
			for i := 0; i < n; i++ {
				if pinged {
					c.stats.RefusedRequests++
					continue
				}
				pinged = true
				p, _, _ := codec.ParsePing(c.rd.Record(i))
				c.onPing(now, from, &p)
			}
		case codec.RecPingReq:
			for i := 0; i < n; i++ {
				if relayed {
					c.stats.RefusedRequests++
					continue
				}
				relayed = true
				pr, _, _ := codec.ParsePingReq(c.rd.Record(i))
				c.onPingReq(now, from, &pr)
			}
		}
	}
}
