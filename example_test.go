package hearsay_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/hearsay-io/hearsay"
)

// Two nodes on loopback form a sealed cluster. README.md quotes this
// function's body; TestReadmeExample keeps the two equal.
func Example() {
	// The cluster's key: 32 random bytes (AES-256), the same on every
	// member. Keys[0] seals every datagram; the others are accepted too.
	key := make([]byte, 32)
	rand.Read(key)

	cfg := hearsay.DefaultLocalConfig() // DefaultLANConfig, DefaultWANConfig for real networks
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Keys = [][]byte{key}

	seed, err := hearsay.NewNode(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer seed.Close()
	node, err := hearsay.NewNode(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	// Subscribe before Join, so that no member the join brings is missed.
	events := node.Subscribe(64, hearsay.EventJoin, hearsay.EventLeft)
	defer events.Close()

	// Seeds are strings: "ip:port", "host:port" (names are resolved again
	// before every re-contact) or SRV names like "_gossip._udp.db.svc".
	seeds := []string{seed.Addr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.Join(ctx, seeds...); err != nil {
		log.Fatal(err)
	}
	e := <-events.Events()
	fmt.Println(e.Type, e.Member.ID == seed.ID())
	fmt.Println("live members:", len(node.Members()))

	// Application state spreads to every member.
	if err := node.SetState([]byte("role"), []byte("cache")); err != nil {
		log.Fatal(err)
	}
	// The consistent-hash ring over live members: who owns a key.
	owner, _ := node.Owner([]byte("user:42"))
	fmt.Println("owner is a member:", owner.ID == seed.ID() || owner.ID == node.ID())

	// Leave before Close, so that the others see "left", not "dead".
	if err := node.Leave(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// join true
	// live members: 2
	// owner is a member: true
}
