package fuzz_test

import (
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// Reply budgets and admission, checked after every datagram from the
// outbox and the member table:
//
//   - what the node queued to the datagram's source while handling it is
//     at most the datagram's size (both as on the wire), unless the
//     datagram carried a valid Echo of a token the node issued to that
//     address, or the node sent a request there within expectWindow;
//   - what it queued to addresses that are no member's recorded address
//     (before or after the datagram), the source included, is at most the
//     datagram's size too, leaving out an address the node sent a request
//     to within expectWindow, and the source when validated;
//   - a member the table did not hold enters it only from a source the
//     node trusts (a live member writing from its recorded address, an
//     answer to the node's own request, a joiner whose address proved
//     itself) or by answering an admission ping (Stats.Admitted).

// checkReplies checks the bytes the node queued while handling a datagram
// of size bytes.
func (ck *checker) checkReplies(pre *snapshot, rd *reading, size int) {
	from := ck.from
	val := no
	if rd.ok {
		val = ck.validated(from, rd)
	}
	members := map[netip.AddrPort]bool{}
	for _, m := range ck.before {
		members[m.Addr] = true
	}
	for _, m := range ck.core.Members(ck.members[:0]) {
		members[m.Addr] = true
	}
	toFrom, others := 0, 0
	for _, msg := range ck.out.Messages() {
		a, n := msg.Addr, msg.N
		if a == from {
			toFrom += n
		}
		switch {
		case members[a]:
		case a == from && val != no:
		case a != from && ck.expected(a) != no:
		default:
			others += n
		}
	}
	if val == no && toFrom > size {
		ck.failf("answered a %d-byte %v datagram from %v, which did not prove its address, with %d bytes",
			size, rd.header.Type, from, toFrom)
	}
	if others > size {
		ck.failf("handling a %d-byte %v datagram from %v, sent %d bytes to addresses that are not members'", size, rd.header.Type, from, others)
	}
}

// trusted says whether new members a datagram names may enter the table
// (engine/admission.go): an answer to a request of the node's, a joiner
// whose address proved itself, or a live member writing from its recorded
// address.
func (ck *checker) trusted(rd *reading) tri {
	switch rd.header.Type {
	case codec.MsgShardData, codec.MsgJoinReply:
		return ck.expected(ck.from)
	case codec.MsgJoin:
		return ck.validated(ck.from, rd)
	}
	if m, ok := memberIn(ck.before, engine.ID(rd.header.Sender)); ok && m.State.Live() && m.Addr == ck.from {
		return yes
	}
	return no
}

// checkAdmission checks that members new to the table came from a trusted
// source or answered an admission ping.
func (ck *checker) checkAdmission(pre *snapshot, rd *reading) {
	if ck.trusted(rd) != no {
		return
	}
	fresh := 0
	for _, m := range ck.members {
		if m.ID == ck.self {
			continue
		}
		if _, ok := memberIn(ck.before, m.ID); !ok {
			fresh++
		}
	}
	if admitted := ck.core.Stats().Admitted - pre.stats.Admitted; uint64(fresh) > admitted {
		ck.failf("%d members entered the table from an untrusted %v datagram (sender %v from %v), %d of them admitted",
			fresh, rd.header.Type, rd.header.Sender, ck.from, admitted)
	}
}
