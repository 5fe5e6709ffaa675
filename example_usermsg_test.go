package hearsay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay"
)

// startNamed starts a node on loopback for each name, sealed with
// exampleKey, with tweak applied to its Config. Without seeds every node
// but the first joins through the first; with seeds every node joins
// through them.
func startNamed(names []string, tweak func(*hearsay.Config), seeds ...string) []*hearsay.Node {
	nodes := make([]*hearsay.Node, len(names))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, name := range names {
		cfg := hearsay.DefaultLocalConfig()
		cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
		cfg.Keys = [][]byte{exampleKey}
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.Name = name
		if tweak != nil {
			tweak(&cfg)
		}
		nd, err := hearsay.NewNode(cfg)
		if err != nil {
			log.Fatal(err)
		}
		nodes[i] = nd
		switch {
		case len(seeds) > 0:
			if err := nd.Join(ctx, seeds...); err != nil {
				log.Fatal(err)
			}
		case i > 0:
			if err := nd.Join(ctx, nodes[0].Addr().String()); err != nil {
				log.Fatal(err)
			}
		}
	}
	return nodes
}

// next returns the next event of s, or stops the example after a while.
func next(s *hearsay.Subscription) hearsay.Event {
	select {
	case e := <-s.Events():
		return e
	case <-time.After(10 * time.Second):
		log.Fatal("no event within 10 s")
		return hearsay.Event{}
	}
}

// waitNames waits until the live members nd holds have the given names.
func waitNames(nd *hearsay.Node, want ...string) {
	s := nd.Subscribe(64) // every change: joins, names (state), refusals
	defer s.Close()
	for !slices.Equal(names(nd), want) {
		next(s)
	}
}

// names returns the names of the live members nd holds, sorted.
func names(nd *hearsay.Node) []string {
	var out []string
	for _, m := range nd.Members() {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}

// Broadcast a payload to every member; each receives it once, as
// EventMessage.
func ExampleNode_Broadcast() {
	nodes := startNodes(3)
	defer closeAll(nodes)
	var subs []*hearsay.Subscription
	for _, nd := range nodes[1:] {
		subs = append(subs, nd.Subscribe(8, hearsay.EventMessage))
	}

	if err := nodes[0].Broadcast([]byte("config v42 is out")); err != nil {
		log.Fatal(err)
	}
	for i, s := range subs {
		e := next(s)
		fmt.Printf("node %d got %q, broadcast %v, from node 0: %v\n", i+1, e.Payload, e.Broadcast, e.Member.ID == nodes[0].ID())
	}

	limit := nodes[0].Config().MaxMessageSize()
	err := nodes[0].Broadcast(make([]byte, limit+1))
	fmt.Printf("at most %d bytes; one more: %v\n", limit, errors.Is(err, hearsay.ErrMessageSize))
	// Output:
	// node 1 got "config v42 is out", broadcast true, from node 0: true
	// node 2 got "config v42 is out", broadcast true, from node 0: true
	// at most 1296 bytes; one more: true
}

// Send a payload to one member alone.
func ExampleNode_Send() {
	nodes := startNodes(2)
	defer closeAll(nodes)
	inbox := nodes[1].Subscribe(8, hearsay.EventMessage)

	if err := nodes[0].Send(nodes[1].ID(), []byte("your turn")); err != nil {
		log.Fatal(err)
	}
	e := next(inbox)
	fmt.Printf("%q, broadcast %v\n", e.Payload, e.Broadcast)

	err := nodes[0].Send(hearsay.NewID(), []byte("anyone?"))
	fmt.Println("to a stranger:", errors.Is(err, hearsay.ErrNoMember))
	// Output:
	// "your turn", broadcast false
	// to a stranger: true
}

// Refuse members by name with an admission hook. A member's name travels
// in its application state, which can arrive after its record: the hook
// admits a member it cannot judge yet and refuses it once its name shows.
func ExampleConfig_admit() {
	untrusted := func(m hearsay.Member, _ hearsay.StateView) error {
		if strings.HasPrefix(m.Name, "untrusted") {
			return fmt.Errorf("%s is not allowed here", m.Name)
		}
		return nil
	}
	nodes := startNamed([]string{"web-1", "web-2"}, func(c *hearsay.Config) { c.Admit = untrusted })
	defer closeAll(nodes)
	web1 := nodes[0]
	waitNames(web1, "web-1", "web-2")
	refused := web1.Subscribe(8, hearsay.EventRefused)
	defer refused.Close()

	// The newcomer runs without the hook and joins through web-1. Its join
	// may or may not complete: once web-1 refuses it, web-1 serves it no
	// more of the table.
	late := startNamed([]string{"untrusted-3"}, nil)[0]
	defer late.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = late.Join(ctx, web1.Addr().String())

	e := next(refused)
	fmt.Printf("web-1 refused %s\n", e.Member.Name)
	fmt.Println("web-1 sees", names(web1))
	fmt.Println("refused by the hook:", web1.Stats().RefusedByAdmit)
	// Output:
	// web-1 refused untrusted-3
	// web-1 sees [web-1 web-2]
	// refused by the hook: 1
}

// A program written for hashicorp/memberlist, ported: nodes named by
// memberlist's Config.Name join a cluster through a host name (memberlist's
// Join takes "host:port" strings, and so does Join here), an alive
// delegate (NotifyAlive) keeps out a member by name, a message delegate
// (NotifyMsg) prints what arrives, QueueBroadcast on a
// TransmitLimitedQueue becomes Broadcast, SendBestEffort becomes Send, and
// Members lists the names. In Hearsay the delegates are a Config function
// (Admit) and a subscription (EventMessage); the queue, its
// retransmission rule (λ·log₂(N+1)) and its bounds are the node's own.
// Unlike memberlist, which resolves a seed name once, at Join, the node
// keeps the name and resolves it again before every re-contact.
func Example_memberlist() {
	// NotifyAlive: refuse "mallory".
	alive := func(m hearsay.Member, _ hearsay.StateView) error {
		if m.Name == "mallory" {
			return errors.New("mallory is not welcome")
		}
		return nil
	}
	admit := func(c *hearsay.Config) { c.Admit = alive }
	alpha := startNamed([]string{"alpha"}, admit)[0]
	// Join: beta and gamma find alpha by host name and port.
	seed := net.JoinHostPort("localhost", strconv.Itoa(int(alpha.Addr().Port())))
	nodes := append([]*hearsay.Node{alpha}, startNamed([]string{"beta", "gamma"}, admit, seed)...)
	defer closeAll(nodes)
	beta, gamma := nodes[1], nodes[2]
	for _, nd := range nodes {
		waitNames(nd, "alpha", "beta", "gamma")
	}
	fmt.Println("beta's seeds are host names:", slices.Equal(beta.Seeds(), []string{seed}))

	// Mallory joins through alpha, which refuses it once its name arrives
	// and from then on serves it no more of the table.
	refused := alpha.Subscribe(8, hearsay.EventRefused)
	defer refused.Close()
	mallory := startNamed([]string{"mallory"}, nil)[0]
	defer mallory.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = mallory.Join(ctx, alpha.Addr().String())
	fmt.Println("alpha refused", next(refused).Member.Name)

	// NotifyMsg: a subscription per node delivers its user messages.
	inbox := map[string]*hearsay.Subscription{}
	for _, nd := range nodes {
		inbox[nd.Config().Name] = nd.Subscribe(16, hearsay.EventMessage)
	}
	notifyMsg := func(name string) string {
		e := next(inbox[name])
		return fmt.Sprintf("%s <- %s: %s", name, e.Member.Name, e.Payload)
	}

	// QueueBroadcast.
	if err := alpha.Broadcast([]byte("leader is alpha")); err != nil {
		log.Fatal(err)
	}
	// SendBestEffort.
	if err := beta.Send(gamma.ID(), []byte("hand-off shard 7")); err != nil {
		log.Fatal(err)
	}

	got := []string{notifyMsg("beta"), notifyMsg("gamma"), notifyMsg("gamma")}
	slices.Sort(got)
	for _, line := range got {
		fmt.Println(line)
	}
	// Members.
	fmt.Println("alpha members:", names(alpha))
	// Output:
	// beta's seeds are host names: true
	// alpha refused mallory
	// beta <- alpha: leader is alpha
	// gamma <- alpha: leader is alpha
	// gamma <- beta: hand-off shard 7
	// alpha members: [alpha beta gamma]
}
