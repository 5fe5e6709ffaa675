package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The network: one namespace per host, and a switch namespace holding two
// bridges. Each host has one veth pair, its end named <prefix>e<i> in the
// host's namespace, the other <prefix>p<i> in the switch namespace,
// enslaved to bridge <prefix>b0. Hosts have 10.77.0.<i+1>/24 and
// fd77::<i+1>/64; the bridges have no address, and nothing is created in
// the root namespace, so the test cannot disturb the machine's network.
//
//	host ns <prefix>0 .. <prefix>7      switch ns <prefix>sw
//	  <prefix>e0 10.77.0.1 ─── veth ─── <prefix>p0 ┐
//	  ...                                          ├─ bridge <prefix>b0 (b1 for splits)
//	  <prefix>e7 10.77.0.8 ─── veth ─── <prefix>p7 ┘
//
// A link failure sets the switch-side port down (the cable is pulled at the
// switch: the host keeps its address and sees no carrier). A split moves
// some ports to bridge b1, which is not connected to b0.
//
// Every name starts with prefix "hs-<pid>-", so concurrent runs do not
// collide and leftovers are recognisable: a run removes leftovers of runs
// whose process is gone (sweepStale), and checks at its end that nothing of
// its own remains (checkClean).

// ipTimeout bounds every ip command.
const ipTimeout = 20 * time.Second

// ipRun runs ip with args and returns its combined output.
func ipRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// topo is the network of one test run.
type topo struct {
	prefix string
	sw     string // the switch namespace
	hosts  []hostNet
}

// hostNet is one host's place in the network.
type hostNet struct {
	ns   string // its namespace
	dev  string // its interface, in ns
	port string // the switch-side end of its veth, in the switch namespace
	v4   netip.Addr
	v6   netip.Addr
}

func (tp *topo) bridge(k int) string { return tp.prefix + "b" + strconv.Itoa(k) }

// newTopo builds the network for n hosts. The caller runs as root with the
// ip command on its PATH, so a network that cannot be built (no namespace
// support or privilege in a container, no veth or bridge support) is a
// failure, not a skip: newTopo fails the test with the ip command's error.
// The teardown is registered first, so a half-built network is removed
// too.
func newTopo(t *testing.T, n int) *topo {
	t.Helper()
	tp := &topo{prefix: fmt.Sprintf("hs-%d-", os.Getpid())}
	tp.sw = tp.prefix + "sw"
	for i := range n {
		tp.hosts = append(tp.hosts, hostNet{
			ns:   tp.prefix + strconv.Itoa(i),
			dev:  tp.prefix + "e" + strconv.Itoa(i),
			port: tp.prefix + "p" + strconv.Itoa(i),
			v4:   netip.AddrFrom4([4]byte{10, 77, 0, byte(i + 1)}),
			v6:   netip.MustParseAddr("fd77::" + strconv.FormatInt(int64(i+1), 16)),
		})
	}
	t.Cleanup(func() {
		if err := tp.teardown(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	start := time.Now()
	if _, err := ipRun("netns", "add", tp.sw); err != nil {
		t.Fatalf("setting up the namespace network: cannot create a network namespace as root (euid %d): %v", os.Geteuid(), err)
	}
	steps := [][]string{
		{"-n", tp.sw, "link", "add", tp.bridge(0), "type", "bridge", "mcast_snooping", "0"},
		{"-n", tp.sw, "link", "add", tp.bridge(1), "type", "bridge", "mcast_snooping", "0"},
		{"-n", tp.sw, "link", "set", tp.bridge(0), "up"},
		{"-n", tp.sw, "link", "set", tp.bridge(1), "up"},
	}
	for _, h := range tp.hosts {
		steps = append(steps,
			[]string{"netns", "add", h.ns},
			[]string{"-n", h.ns, "link", "set", "lo", "up"},
			[]string{"-n", tp.sw, "link", "add", h.port, "type", "veth", "peer", "name", h.dev, "netns", h.ns},
			[]string{"-n", tp.sw, "link", "set", h.port, "master", tp.bridge(0), "up"},
			[]string{"-n", h.ns, "addr", "add", h.v4.String() + "/24", "dev", h.dev},
			// nodad: usable at once, without duplicate address detection.
			[]string{"-n", h.ns, "addr", "add", h.v6.String() + "/64", "dev", h.dev, "nodad"},
			[]string{"-n", h.ns, "link", "set", h.dev, "up"},
		)
	}
	for _, s := range steps {
		if _, err := ipRun(s...); err != nil {
			t.Fatalf("setting up the namespace network (veth and bridge support needed): %v", err)
		}
	}
	t.Logf("network: %d host namespaces %s0..%d and switch namespace %s, built in %v",
		n, tp.prefix, n-1, tp.sw, time.Since(start).Round(time.Millisecond))
	return tp
}

// neighRetrans returns the kernel's address-resolution retransmit time on
// host i's interface (ARP for IPv4, neighbour discovery for IPv6): how long
// a datagram to a neighbour whose entry failed while the link was down can
// wait for the next resolution probe once the link is back.
func (tp *topo) neighRetrans(i int) (time.Duration, error) {
	var worst time.Duration
	for _, table := range []string{"arp_cache", "ndisc_cache"} {
		out, err := ipRun("-n", tp.hosts[i].ns, "ntable", "show", "dev", tp.hosts[i].dev, "name", table)
		if err != nil {
			return 0, err
		}
		m := retransRE.FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("ip ntable show %s: no retrans value in %q", table, out)
		}
		ms, _ := strconv.Atoi(m[1])
		worst = max(worst, time.Duration(ms)*time.Millisecond)
	}
	return worst, nil
}

var retransRE = regexp.MustCompile(`\bretrans ([0-9]+)\b`)

// linkDown cuts host i's link at the switch; linkUp restores it.
func (tp *topo) linkDown(i int) error {
	_, err := ipRun("-n", tp.sw, "link", "set", tp.hosts[i].port, "down")
	return err
}

func (tp *topo) linkUp(i int) error {
	_, err := ipRun("-n", tp.sw, "link", "set", tp.hosts[i].port, "up")
	return err
}

// attach moves host i's port to bridge k (0: the main one, 1: the island).
func (tp *topo) attach(i, k int) error {
	_, err := ipRun("-n", tp.sw, "link", "set", tp.hosts[i].port, "master", tp.bridge(k))
	return err
}

// reset puts every port up on bridge 0, undoing what a failed scenario may
// have left.
func (tp *topo) reset() error {
	var errs []error
	for i := range tp.hosts {
		errs = append(errs, tp.attach(i, 0), tp.linkUp(i))
	}
	return errors.Join(errs...)
}

// teardown deletes every namespace of the run; the veth pairs and bridges
// go with them. Missing namespaces are not an error.
func (tp *topo) teardown() error {
	var errs []error
	names, err := netnsNames()
	if err != nil {
		return err
	}
	for _, ns := range names {
		if strings.HasPrefix(ns, tp.prefix) {
			if _, err := ipRun("netns", "delete", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// netnsNames lists the named network namespaces.
func netnsNames() ([]string, error) {
	out, err := ipRun("netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		// "name" or "name (id: 3)"
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

var staleNS = regexp.MustCompile(`^hs-([0-9]+)-`)

// sweepStale deletes namespaces left by earlier runs of this harness whose
// process no longer exists (a run killed before its cleanup).
func sweepStale(t *testing.T) {
	names, err := netnsNames()
	if err != nil {
		return
	}
	for _, ns := range names {
		m := staleNS.FindStringSubmatch(ns)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + m[1]); err == nil {
			continue // that run is still going
		}
		if _, err := ipRun("netns", "delete", ns); err != nil {
			t.Logf("removing stale namespace %s: %v", ns, err)
		} else {
			t.Logf("removed namespace %s left by a run (pid %d) that no longer exists", ns, pid)
		}
	}
	// Hosts files of the names scenario, left by a run that was killed.
	ents, _ := os.ReadDir(etcNetns)
	for _, e := range ents {
		m := staleNS.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + m[1]); err == nil {
			continue
		}
		if err := os.RemoveAll(filepath.Join(etcNetns, e.Name())); err != nil {
			t.Logf("removing stale hosts files %s: %v", e.Name(), err)
		}
	}
}

// checkClean reports anything of this run that remains: a namespace, an
// interface in the root namespace, or a process running bin.
func checkClean(prefix, bin string) []string {
	var left []string
	if names, err := netnsNames(); err != nil {
		left = append(left, err.Error())
	} else {
		for _, ns := range names {
			if strings.HasPrefix(ns, prefix) {
				left = append(left, "namespace "+ns)
			}
		}
	}
	if out, err := ipRun("-o", "link", "show"); err != nil {
		left = append(left, err.Error())
	} else if strings.Contains(out, prefix) {
		left = append(left, "root-namespace interfaces:\n"+out)
	}
	if ents, err := os.ReadDir(etcNetns); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) {
				left = append(left, "hosts files "+filepath.Join(etcNetns, e.Name()))
			}
		}
	}
	if bin != "" {
		for _, pid := range processesOf(bin) {
			left = append(left, fmt.Sprintf("process %d running %s", pid, bin))
		}
	}
	return left
}

// processesOf lists the processes with bin on their command line: the
// agents, and an ip netns exec that has not exec'd one yet.
func processesOf(bin string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(b, []byte{0}) {
			if string(arg) == bin {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
