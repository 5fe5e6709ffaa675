package netio

import "net/netip"

// SetDefaultLink replaces the link used between every pair without an
// override. It applies to datagrams sent from now on.
func (n *Network) SetDefaultLink(l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.link = l
}

// SetLink overrides the link for datagrams from one address to another, in
// that direction only: set both directions for a symmetric change, one for
// an asymmetric link or a one-way partition (Link{Down: true}). The
// addresses need not be open yet. It applies to datagrams sent from now on;
// those in flight keep the delay they were given.
func (n *Network) SetLink(from, to netip.AddrPort, l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := pairKey(n.intern(normalize(from)), n.intern(normalize(to)))
	n.links[k] = &l
}

// ClearLink removes the override set by SetLink for from → to, so the pair
// uses the default link again.
func (n *Network) ClearLink(from, to netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f, ok1 := n.index[normalize(from)]
	t, ok2 := n.index[normalize(to)]
	if ok1 && ok2 {
		delete(n.links, pairKey(f, t))
	}
}

// SetEndpointFaults sets the faults of the endpoint at addr, which apply to
// every datagram it sends and every datagram sent to it, on top of the
// link's, until changed; the zero Faults clears them. The setting belongs to
// the address, so it survives a restart of the endpoint.
func (n *Network) SetEndpointFaults(addr netip.AddrPort, f Faults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.intern(normalize(addr))
	if f.zero() {
		n.slots[i].faults = nil
		return
	}
	n.slots[i].faults = &f
}

// Partition splits the network into the given groups plus one more: every
// address not listed. Datagrams between different groups are dropped at
// send time and counted in DropPartition; datagrams already in flight are
// delivered. So Partition(minority) cuts a minority off from the rest, and
// Partition(a, b) with every address listed splits it in two. An address
// listed twice belongs to its last group. Partition replaces any previous
// partition; Heal removes it. For one-way partitions use SetLink with a
// Down link.
func (n *Network) Partition(groups ...[]netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.slots {
		n.slots[i].group = 0
	}
	for g, addrs := range groups {
		for _, a := range addrs {
			n.slots[n.intern(normalize(a))].group = int32(g + 1)
		}
	}
	n.partitioned = len(groups) > 0
}

// Heal removes the partition: every address can reach every other again.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.slots {
		n.slots[i].group = 0
	}
	n.partitioned = false
}

// Pause freezes the endpoint at addr, as SIGSTOP freezes a process: its
// deliveries wait in its queue (up to QueueLimit and QueueBytes, overflow
// dropped and counted) and ReadBatch does not return them until Resume.
// Pause does not stop the endpoint from sending; a paused node's driver
// should not run its timers. It does nothing if no endpoint is open at
// addr.
func (n *Network) Pause(addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i, ok := n.index[normalize(addr)]; ok && n.slots[i].ep != nil {
		n.slots[i].ep.paused = true
	}
}

// Resume thaws the endpoint at addr. In handler mode the datagrams that
// queued while it was paused are handed to its handler in arrival order,
// inside Resume, at the current time, as long as the endpoint is not busy
// (Endpoint.SetBusy); those left wait for the end of the busy time. In
// queue mode they become readable.
func (n *Network) Resume(addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i, ok := n.index[normalize(addr)]
	if !ok || n.slots[i].ep == nil {
		return
	}
	e := n.slots[i].ep
	e.paused = false
	e.wake()
	n.drain(e)
}
