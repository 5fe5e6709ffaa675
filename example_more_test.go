package hearsay_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay"
)

// exampleKey is a fixed key for the examples; a real cluster's key is
// random and secret.
var exampleKey = bytes.Repeat([]byte{7}, 32)

// startNodes starts n nodes on loopback, sealed with keys (exampleKey
// when none), without logging, and joins them through the first.
func startNodes(n int, keys ...[]byte) []*hearsay.Node {
	if len(keys) == 0 {
		keys = [][]byte{exampleKey}
	}
	cfg := hearsay.DefaultLocalConfig()
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Keys = keys
	cfg.Logger = slog.New(slog.DiscardHandler)
	nodes := make([]*hearsay.Node, n)
	joins := make([]*hearsay.Subscription, n)
	for i := range nodes {
		nd, err := hearsay.NewNode(cfg)
		if err != nil {
			log.Fatal(err)
		}
		nodes[i] = nd
		joins[i] = nd.Subscribe(4*n, hearsay.EventJoin)
		defer joins[i].Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, nd := range nodes[1:] {
		if err := nd.Join(ctx, nodes[0].Addr().String()); err != nil {
			log.Fatal(err)
		}
	}
	// Join returns once the node holds the membership its seed had; the
	// others learn of it by gossip a moment later.
	for i, nd := range nodes {
		for nd.Counts().Live() < n {
			select {
			case <-joins[i].Events():
			case <-ctx.Done():
				log.Fatalf("node %d sees %d of %d members", i, nd.Counts().Live(), n)
			}
		}
	}
	return nodes
}

func closeAll(nodes []*hearsay.Node) {
	for _, nd := range nodes {
		nd.Close()
	}
}

// Keep a view of the live members from a subscription: apply each event,
// and rebuild from Members when the subscription reports a gap (its
// channel overflowed, so some events were not delivered).
func ExampleNode_Subscribe() {
	nodes := startNodes(1)
	defer closeAll(nodes)
	a := nodes[0]

	sub := a.Subscribe(16, hearsay.EventJoin, hearsay.EventAlive, hearsay.EventSuspect,
		hearsay.EventUpdate, hearsay.EventDead, hearsay.EventLeft)
	defer sub.Close()
	view := map[hearsay.ID]hearsay.Member{}
	resync := func() {
		clear(view)
		for _, m := range a.Members() {
			view[m.ID] = m
		}
	}
	resync()

	// Another node joins, then leaves.
	b := startNodes(1)[0]
	defer b.Close()
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Join(ctx, a.Addr().String()); err != nil {
			log.Fatal(err)
		}
		if err := b.Leave(ctx); err != nil {
			log.Fatal(err)
		}
	}()

	for e := range sub.Events() {
		switch e.Type {
		case hearsay.EventGap:
			resync() // e.Missed events were lost: start again from the table
			continue
		case hearsay.EventDead, hearsay.EventLeft:
			delete(view, e.Member.ID)
		default:
			view[e.Member.ID] = e.Member
		}
		fmt.Printf("%v: %d live members\n", e.Type, len(view))
		if e.Type == hearsay.EventLeft {
			break
		}
	}
	// Output:
	// join: 2 live members
	// left: 1 live members
}

// Publish application state (a small versioned map each member holds a
// copy of) and read it on another member.
func ExampleNode_SetState() {
	nodes := startNodes(2)
	defer closeAll(nodes)
	a, b := nodes[0], nodes[1]

	changes := b.Subscribe(16, hearsay.EventState)
	defer changes.Close()
	if err := a.SetState([]byte("load"), []byte("0.42")); err != nil {
		log.Fatal(err)
	}
	e := <-changes.Events()
	fmt.Printf("%s = %s, version %d\n", e.Key, e.Value, e.Version)
	v, _, _ := b.State(a.ID(), []byte("load"))
	fmt.Printf("b reads a's load: %s\n", v)
	// Output:
	// load = 0.42, version 1
	// b reads a's load: 0.42
}

// List a member's whole application state: every key, with its value and
// version, as this node holds it (the name, under NameKey, included).
func ExampleNode_StateOf() {
	nodes := startNodes(2)
	defer closeAll(nodes)
	a, b := nodes[0], nodes[1]

	changes := b.Subscribe(16, hearsay.EventState)
	defer changes.Close()
	for _, kv := range [][2]string{{"role", "cache"}, {"zone", "eu-1"}} {
		if err := a.SetState([]byte(kv[0]), []byte(kv[1])); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		<-changes.Events()
	}
	st, _ := b.StateOf(a.ID())
	for k, v := range st.All() {
		if strings.HasPrefix(string(k), hearsay.ReservedKeyPrefix) {
			continue // Hearsay's own keys, such as the name
		}
		ver, _ := st.Version(k)
		fmt.Printf("%s = %s (version %d)\n", k, v, ver)
	}
	// Output:
	// role = cache (version 1)
	// zone = eu-1 (version 2)
}

// Route keys to members with the consistent-hash ring: every member with
// the same view of the cluster picks the same owner, and Owners gives
// replicas.
func ExampleNode_Owner() {
	nodes := startNodes(3)
	defer closeAll(nodes)

	for _, key := range []string{"user:42", "user:43", "cart:7"} {
		var owners []hearsay.ID
		for _, nd := range nodes {
			m, _ := nd.Owner([]byte(key))
			owners = append(owners, m.ID)
		}
		replicas := nodes[0].Owners([]byte(key), 2, nil)
		fmt.Printf("%s: all agree %v, first replica is the owner %v, %d replicas\n",
			key, slices.Equal(owners, []hearsay.ID{owners[0], owners[0], owners[0]}), replicas[0].ID == owners[0], len(replicas))
	}
	// Output:
	// user:42: all agree true, first replica is the owner true, 2 replicas
	// user:43: all agree true, first replica is the owner true, 2 replicas
	// cart:7: all agree true, first replica is the owner true, 2 replicas
}

// Rotate the cluster's key without a restart and without losing a
// datagram: three steps, each done on every node before the next starts.
func ExampleNode_InstallKey() {
	oldKey := exampleKey
	newKey := bytes.Repeat([]byte{8}, 32)
	nodes := startNodes(2, oldKey)
	defer closeAll(nodes)

	steps := []struct {
		name string
		do   func(*hearsay.Node) error
	}{
		{"install the new key", func(n *hearsay.Node) error { return n.InstallKey(newKey) }},
		{"seal with it", func(n *hearsay.Node) error { return n.UsePrimaryKey(newKey) }},
		{"remove the old key", func(n *hearsay.Node) error { return n.RemoveKey(oldKey) }},
	}
	for _, step := range steps {
		for _, nd := range nodes {
			if err := step.do(nd); err != nil {
				log.Fatal(err)
			}
		}
		fmt.Printf("%s: keys %v\n", step.name, nodes[0].KeyIDs())
	}

	// The nodes still hear each other.
	changes := nodes[1].Subscribe(16, hearsay.EventState)
	defer changes.Close()
	if err := nodes[0].SetState([]byte("after"), []byte("rotation")); err != nil {
		log.Fatal(err)
	}
	e := <-changes.Events()
	fmt.Printf("%s %s\n", e.Key, e.Value)
	// Output:
	// install the new key: keys [d82a7b56 3a799e25]
	// seal with it: keys [3a799e25 d82a7b56]
	// remove the old key: keys [3a799e25]
	// after rotation
}
