package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Join enters the cluster through seeds (Config.Seeds when none are given)
// and blocks until a seed has answered and the node has fetched the
// cluster's full membership, or ctx ends. Seeds are contacted again, with
// doubling intervals, until one answers; seeds equal to this node's own
// advertised address are skipped.
//
// Errors: ErrNoSeeds (no seed other than this node), ErrLeft (the node has
// left), ErrClosed; when ctx ends first, an error wrapping ctx.Err() and,
// if no seed answered at all, ErrNoSeedAnswered. After ctx ends the node
// keeps trying in the background; a later Join replaces the attempt.
//
// Only Config.Seeds are re-contacted periodically once joined (so that
// logical partitions heal); seeds passed here serve this join only.
func (n *Node) Join(ctx context.Context, seeds ...netip.AddrPort) error {
	if len(seeds) == 0 {
		seeds = n.cfg.Seeds
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hearsay: join: %w", err)
	}
	start := time.Now()
	w := &waiter{ch: make(chan struct{}), cond: func() bool { return n.core.Joined() }}
	var joinErr error
	if err := n.do(func(now Time) {
		joinErr = n.core.Join(now, seeds)
		if joinErr == nil {
			n.waiters = append(n.waiters, w)
		}
	}); err != nil {
		return err
	}
	if joinErr != nil {
		return fmt.Errorf("hearsay: join: %w", joinErr)
	}
	err := n.wait(ctx, w)
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
		return fmt.Errorf("hearsay: join through %d seeds: %w: %w", len(seeds), ErrNoSeedAnswered, err)
	}
	return fmt.Errorf("hearsay: join: a seed answered but fetching the membership did not finish: %w", err)
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
		return fmt.Errorf("hearsay: leave: %w", err)
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
		return fmt.Errorf("hearsay: leave: the Left record did not finish spreading: %w", err)
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
