package hearsay

import "github.com/hearsay-io/hearsay/engine"

// User messages: payloads the application sends to every member
// (Broadcast) or to one (Send), in place of memberlist's NotifyMsg,
// SendBestEffort and TransmitLimitedQueue or Serf's user events. Both
// arrive as EventMessage: Member is the sender as the receiving node holds
// it (its ID, Name, address), Payload the bytes, Broadcast which kind.
// Subscribe to them alone with Subscribe(buf, EventMessage).
//
// A payload is at most Config.MaxMessageSize() bytes: MaxDatagramSize
// less the seal, the header and the message's own framing, 1,296 bytes at
// the default 1,400. Larger payloads return an error matching
// ErrMessageSize; split them, or send a pointer to the data (a key the
// receiver fetches over a stream of yours).
//
// Both are best effort, neither acknowledged nor retried. A broadcast
// rides in the room membership updates leave in the datagrams the node
// sends anyway (heartbeats, probes, gossip), behind them, and every member
// that receives it relays it Config.RetransmitMult·log₂(N+1) times: at
// N = 200 it misses about one member in 3,000 at no loss and one in 1,300
// at 10% loss (engine.Core.Broadcast derives the figure; a simulator test
// measures it). Each member delivers a message at most once. Messages from
// a member that Config.Admit refused are not delivered.
//
// EventMessage is the event type of a user message.
const EventMessage = engine.EventMessage

// Errors of Broadcast and Send.
var (
	// ErrMessageSize: a payload larger than Config.MaxMessageSize().
	ErrMessageSize = engine.ErrMessageSize
	// ErrNoMember: Send to an ID that is not a live member, or to this
	// node itself.
	ErrNoMember = engine.ErrNoMember
)

// Broadcast sends payload to every live member: each delivers it once, as
// EventMessage with Broadcast set; this node does not. The node copies
// payload. The node keeps at most Config.MaxBroadcasts broadcasts (and
// MaxBroadcastBytes of payload) waiting to be relayed, its own and
// others', and drops the oldest beyond that (Stats.BroadcastsDropped).
//
// Errors: ErrMessageSize, ErrLeft, ErrClosed.
func (n *Node) Broadcast(payload []byte) error { return n.e.Broadcast(payload) }

// Send sends payload to member to alone, in one datagram sealed for it, to
// the address this node holds for it; to arrives there as EventMessage.
// The node copies payload. A member whose address has not yet answered
// this node's probes is pinged first, and the message goes when it
// answers, or is dropped (Stats.SendsDropped). The receiver takes at most
// Config.MaxMessageRate messages a second, an eighth of them from one
// member, and never answers one.
//
// Errors: ErrMessageSize, ErrNoMember, ErrLeft, ErrClosed.
func (n *Node) Send(to ID, payload []byte) error { return n.e.Send(to, payload) }
