package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Join enters the cluster through seeds and blocks until a seed has
// answered and the node has fetched the cluster's full membership, or ctx
// ends. Seeds given here replace the node's seeds, as SetSeeds does: they
// are re-contacted every Config.SeedInterval once joined, so that logical
// partitions heal. Without seeds, Join uses the node's seeds
// (Config.Seeds and SeedNames, or those set since). JoinSeeds takes seeds
// as text, host names and SRV names included.
//
// Seeds are contacted again, with doubling intervals, until one answers;
// seeds equal to this node's own advertised address are skipped.
//
// Errors: ErrNoSeeds (no seed other than this node), ErrLeft (the node has
// left), ErrClosed; when ctx ends first, an error wrapping ctx.Err() and,
// if no seed answered at all, ErrNoSeedAnswered: then the seeds are down,
// unreachable, or use other keys (a receiver drops a datagram sealed with
// a key it does not hold, and logs it, rate-limited, with the sender's
// address). After ctx ends the node keeps trying in the background; a
// later Join replaces the attempt.
func (n *Node) Join(ctx context.Context, seeds ...netip.AddrPort) error {
	if len(seeds) > 0 {
		list := make([]seed, 0, len(seeds))
		for _, a := range seeds {
			if a.IsValid() {
				list = append(list, seed{text: a.String(), addr: a})
			}
		}
		if len(list) > maxSeeds {
			return opError("join", fmt.Errorf("%w: %d seeds, at most %d", ErrInvalidSeed, len(list), maxSeeds))
		}
		if err := n.setSeeds(list); err != nil {
			return err
		}
	}
	return n.join(ctx)
}

// JoinSeeds is Join with seeds as text: "ip:port", "[ipv6]:port",
// "host:port" or an SRV name, as SetSeeds takes them. Names are resolved
// before the first contact, and again while none yields an address, until
// ctx ends. An invalid seed returns an error matching ErrInvalidSeed.
func (n *Node) JoinSeeds(ctx context.Context, seeds ...string) error {
	if len(seeds) > 0 {
		list, err := parseSeeds(seeds)
		if err != nil {
			return opError("join", err)
		}
		if err := n.setSeeds(list); err != nil {
			return err
		}
	}
	return n.join(ctx)
}

// join joins through the node's seeds.
func (n *Node) join(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return opError("join", err)
	}
	if n.closed.Load() {
		return ErrClosed
	}
	start := time.Now()
	seeds, err := n.seedsForJoin(ctx)
	if err != nil {
		return err
	}
	w := &waiter{ch: make(chan struct{}), cond: func() bool { return n.core.Joined() }}
	var joinErr error
	if err := n.do(func(now Time) {
		n.core.SetSeeds(now, seeds)
		joinErr = n.core.Join(now, seeds)
		if joinErr == nil {
			n.waiters = append(n.waiters, w)
		}
	}); err != nil {
		return err
	}
	if joinErr != nil {
		return opError("join", joinErr)
	}
	err = n.wait(ctx, w)
	switch {
	case err == nil:
		live, _ := n.NumMembers()
		n.log.Info("joined the cluster", "members", live, "took", time.Since(start).Round(time.Millisecond))
		return nil
	case errors.Is(err, ErrClosed):
		return err
	}
	var answered bool
	if e := n.do(func(Time) { answered = n.core.JoinAnswered() }); e != nil {
		return e
	}
	if !answered {
		return errorf("join: %w within %v (%d seed addresses tried): are the seeds running and reachable, and do they hold this node's keys? "+
			"A node drops datagrams sealed with keys it does not hold, and logs their source: %w",
			ErrNoSeedAnswered, time.Since(start).Round(time.Millisecond), len(seeds), err)
	}
	return errorf("join: a seed answered but fetching the membership did not finish: %w", err)
}

// Leave leaves the cluster gracefully: the node marks itself Left, tells its
// observers and gossips the record, and Leave blocks until the record has
// been sent as often as any update is (Core.Left) or ctx ends. A node that
// knows no other live member returns at once. After Leave the node answers
// no one and refuses SetState and Join with ErrLeft; Close it.
//
// When ctx ends first, Leave returns an error wrapping ctx.Err() and the
// record keeps spreading in the background until Close.
func (n *Node) Leave(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return opError("leave", err)
	}
	w := &waiter{ch: make(chan struct{}), cond: func() bool {
		if n.core.Left() {
			return true
		}
		live, _ := n.core.NumMembers()
		return live == 0 // nobody left to tell
	}}
	if err := n.do(func(now Time) {
		n.core.Leave(now)
		if n.ringOn {
			n.ringMods[n.id] = false
		}
		n.waiters = append(n.waiters, w)
	}); err != nil {
		return err
	}
	if err := n.wait(ctx, w); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		return errorf("leave: the Left record did not finish spreading: %w", err)
	}
	n.log.Info("left the cluster")
	return nil
}

// SetState sets key to value in this node's application state, with a new
// version, and disseminates it; every member's State and EventState
// subscribers see it. key must be 1 to codec.MaxKeySize bytes and value at
// most codec.MaxValueSize bytes; the node's keys (deleted ones included) are
// bounded by Config.MaxStateKeys and their bytes by Config.MaxStateBytes.
//
// Errors: ErrKeySize, ErrValueSize, ErrStateFull, ErrLeft, ErrClosed. The
// node copies key and value.
func (n *Node) SetState(key, value []byte) error {
	var err error
	if e := n.do(func(now Time) { err = n.core.SetState(now, key, value) }); e != nil {
		return e
	}
	return err
}

// DeleteState deletes key from this node's application state. The deletion
// travels like any update and keeps counting toward Config.MaxStateKeys
// until the node restarts. Errors: ErrNoKey, ErrKeySize, ErrLeft,
// ErrClosed.
func (n *Node) DeleteState(key []byte) error {
	var err error
	if e := n.do(func(now Time) { err = n.core.DeleteState(now, key) }); e != nil {
		return e
	}
	return err
}
