package engine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// exampleConfig is a configuration for nodes on loopback: short periods,
// a port picked by the system, and no logging.
func exampleConfig() engine.Config {
	cfg := engine.DefaultLocalConfig()
	cfg.Open = true
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// Start two nodes and join the second to the first. Join returns once a seed
// answered and the node fetched the cluster's membership.
func ExampleNode_Join() {
	a, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, a.Addr()); err != nil {
		log.Fatal(err)
	}
	live, _ := b.NumMembers()
	m, _ := b.Member(a.ID())
	fmt.Println("live members:", live)
	fmt.Println("a is", m.State)
	// Output:
	// live members: 2
	// a is alive
}

// Watch a node's membership events through a bounded channel.
func ExampleNode_Subscribe() {
	a, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	sub := a.Subscribe(64, engine.EventJoin, engine.EventLeft)
	defer sub.Close()

	b, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, a.Addr()); err != nil {
		log.Fatal(err)
	}
	if err := b.Leave(ctx); err != nil {
		log.Fatal(err)
	}

	for range 2 {
		select {
		case e := <-sub.Events():
			fmt.Println(e.Type, e.Member.ID == b.ID())
		case <-ctx.Done():
			log.Fatal(ctx.Err())
		}
	}
	// Output:
	// join true
	// left true
}

// Publish a value in one node's application state and read it on another.
func ExampleNode_SetState() {
	a, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, a.Addr()); err != nil {
		log.Fatal(err)
	}

	// Subscribe before publishing, so that the change cannot be missed.
	changes := b.Subscribe(16, engine.EventState)
	defer changes.Close()
	if err := a.SetState([]byte("role"), []byte("primary")); err != nil {
		log.Fatal(err)
	}
	select {
	case e := <-changes.Events():
		fmt.Printf("%s=%s from a: %v\n", e.Key, e.Value, e.Member.ID == a.ID())
	case <-ctx.Done():
		log.Fatal(ctx.Err())
	}
	v, _, _ := b.State(a.ID(), []byte("role"))
	fmt.Printf("b reads %s\n", v)
	// Output:
	// role=primary from a: true
	// b reads primary
}

// Look up which live member owns a key on the consistent-hash ring. Members
// with the same view agree on every owner.
func ExampleNode_Owner() {
	a, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := engine.NewNode(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, a.Addr()); err != nil {
		log.Fatal(err)
	}

	key := []byte("user:42")
	ownerA, _ := a.Owner(key)
	ownerB, _ := b.Owner(key)
	fmt.Println("ring size:", a.Ring().Len())
	fmt.Println("same owner:", ownerA.ID == ownerB.ID)
	fmt.Println("owner is a member:", ownerA.ID == a.ID() || ownerA.ID == b.ID())
	// Output:
	// ring size: 2
	// same owner: true
	// owner is a member: true
}
