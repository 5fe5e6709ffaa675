// Package ring places members on two circles: a consistent-hash ring that
// maps keys to owners, and the monitoring topology that says which members
// watch which.
//
// [Ring] spreads each member over the 2^64 key circle with
// [Config.Tokens] virtual nodes (512 by default) derived from the member ID
// with xxhash. [Ring.Owner] and [Ring.Owners] answer which members own a key
// (the owner first, then replicas in preference order), and [Ring.Ranges]
// lists the arcs a member owns. Hash byte keys with [KeyHash].
//
// [Topology] orders members by [Position] and makes each member's K
// successors its observers and its K predecessors its subjects. The relation
// depends only on the member set, so every process holding the same members
// agrees on it, and one join or leave changes at most 3K pairs. The engine
// uses Position directly to keep its membership table in circle order.
//
// # What it does not do
//
// The package holds no membership state of its own: callers build a Ring or
// Topology from the members they know and derive a new one when membership
// changes. It does no I/O, starts no goroutines and reads no clock.
//
// # Concurrency and allocation
//
// Ring and Topology are immutable snapshots. Add and Remove return a new
// snapshot and share unchanged parts with the old one, so any number of
// goroutines may read a snapshot while one goroutine derives the next;
// publish snapshots through an atomic.Pointer. Owner, Owners (into a slice
// with room), Ranges (into a slice with room), Observers and Subjects take
// no locks and allocate nothing; TestNoAllocs asserts it.
//
// Add and Remove copy only the leaves of about 128 tokens that the member's
// tokens fall in, plus an index over the leaves, rather than rebuilding the
// ring: see BenchmarkAdd and BenchmarkRemove for the cost at 10 to 100,000
// members.
package ring
