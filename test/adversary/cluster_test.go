//go:build linux

package adversary

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

const (
	clusterSize  = 10
	clusterName  = "adversary"
	trueKey      = "role" // every node publishes role=cache (-state)
	trueValue    = "cache"
	startTimeout = 30 * time.Second // until every node lists every node alive
	httpTimeout  = 5 * time.Second  // one request to a node's HTTP view
	httpAttempts = 3                // requests failing in transport tried again
)

// cluster is a running set of hearsayd processes on loopback.
type cluster struct {
	t       *testing.T
	bin     string
	dir     string
	preset  string // hearsayd -preset
	keyed   bool
	key     []byte // the cluster's key when keyed
	keyFile string
	nodes   []*node
	seeds   []string
}

// node is one hearsayd process and its files.
type node struct {
	i      int
	addr   netip.AddrPort // gossip address
	id     engine.ID
	sock   string // HTTP unix socket
	idFile string
	log    string
	client *http.Client

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process exited
	killed bool          // the test killed it
}

// exited returns how the process ended when it exited without being
// killed by the test, else "".
func (n *node) exited() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil || n.killed {
		return ""
	}
	select {
	case <-n.done:
		return n.cmd.ProcessState.String()
	default:
		return ""
	}
}

func (n *node) String() string { return fmt.Sprintf("node %d (%v)", n.i, n.addr) }

// running reports whether the node's process is alive.
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// pid returns the process ID, or 0.
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// freeUDPPorts returns n UDP ports on 127.0.0.1 that were free a moment
// ago: all bound at once, so that they differ, then released.
func freeUDPPorts(t *testing.T, n int) []uint16 {
	t.Helper()
	conns := make([]*net.UDPConn, n)
	ports := make([]uint16, n)
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		ports[i] = uint16(c.LocalAddr().(*net.UDPAddr).Port)
	}
	for _, c := range conns {
		c.Close()
	}
	return ports
}

// startCluster starts clusterSize nodes, open or sealed, with the local
// preset, and waits until every node lists every node alive.
func startCluster(t *testing.T, keyed bool) *cluster {
	t.Helper()
	return startClusterPreset(t, keyed, "local")
}

// startClusterPreset is startCluster with the nodes' -preset.
func startClusterPreset(t *testing.T, keyed bool, preset string) *cluster {
	t.Helper()
	bin := agentBinary(t)
	dir, err := os.MkdirTemp("", "hsadv-") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, dir: dir, preset: preset, keyed: keyed}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			for _, n := range c.nodes {
				t.Logf("%v log tail:\n%s", n, logTail(n.log, 15))
			}
		}
		os.RemoveAll(dir)
	})
	if keyed {
		c.key = make([]byte, 32)
		rand.Read(c.key)
		c.keyFile = filepath.Join(dir, "keys")
		if err := os.WriteFile(c.keyFile, []byte(hex.EncodeToString(c.key)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := freeUDPPorts(t, clusterSize)
	for i := range clusterSize {
		n := &node{
			i:      i,
			addr:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ports[i]),
			sock:   filepath.Join(dir, fmt.Sprintf("h%d.sock", i)),
			idFile: filepath.Join(dir, fmt.Sprintf("h%d.id", i)),
			log:    filepath.Join(dir, fmt.Sprintf("h%d.log", i)),
		}
		n.client = &http.Client{Timeout: httpTimeout, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", n.sock)
			},
			MaxIdleConnsPerHost: 4,
		}}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes[:3] {
		c.seeds = append(c.seeds, n.addr.String())
	}
	start := time.Now()
	for _, n := range c.nodes {
		if err := c.start(n); err != nil {
			t.Fatal(err)
		}
	}
	c.waitConverged(t, start)
	return c
}

// name is the member name node n runs with (-name), part of its true
// state (engine.NameKey).
func (n *node) name() string { return fmt.Sprintf("adv%d", n.i) }

// start runs n's process.
func (c *cluster) start(n *node) error {
	args := []string{
		"-bind", n.addr.String(),
		"-seeds", strings.Join(c.seeds, ","),
		"-cluster", clusterName,
		"-preset", c.preset,
		"-http", "unix:" + n.sock,
		"-id-file", n.idFile,
		"-state", trueKey + "=" + trueValue,
		"-name", n.name(),
		"-log-level", "warn",
		"-leave-timeout", "1s",
	}
	if c.keyed {
		args = append(args, "-key-file", c.keyFile)
	} else {
		args = append(args, "-open")
	}
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "=== adversary: starting %s at %s\n", strings.Join(args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%v: %w", n, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done, n.killed = cmd, done, false
	n.mu.Unlock()
	return nil
}

// kill sends SIGKILL to n and waits for it to exit.
func (c *cluster) kill(n *node) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.killed = true
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.t.Errorf("%v did not exit 10 s after SIGKILL", n)
	}
	n.client.CloseIdleConnections()
}

// restart starts n again (same ID file: a new generation of the same
// member) and waits until every running node lists every running node
// alive.
func (c *cluster) restart(t *testing.T, n *node) {
	t.Helper()
	start := time.Now()
	if err := c.start(n); err != nil {
		t.Fatal(err)
	}
	c.waitConverged(t, start)
}

// stopAll kills every process.
func (c *cluster) stopAll() {
	for _, n := range c.nodes {
		if n.running() {
			c.kill(n)
		}
	}
}

// waitConverged waits until every running node lists every running node
// alive, learning the nodes' IDs on the way.
func (c *cluster) waitConverged(t *testing.T, since time.Time) {
	t.Helper()
	deadline := since.Add(startTimeout)
	for {
		views, errs := c.allMembers()
		why := ""
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			if errs[n.i] != nil {
				why = fmt.Sprintf("%v: %v", n, errs[n.i])
				break
			}
			for _, m := range views[n.i] {
				if m.Self {
					n.id = m.id()
				}
			}
		}
		if why == "" {
		check:
			for _, obs := range c.nodes {
				if !obs.running() {
					continue
				}
				for _, n := range c.nodes {
					if !n.running() {
						continue
					}
					if m, ok := findMember(views[obs.i], n.id); n.id == 0 || !ok || m.State != "alive" {
						why = fmt.Sprintf("%v does not list %v alive yet", obs, n)
						break check
					}
				}
			}
		}
		if why == "" {
			t.Logf("cluster (keyed %v) converged: %d nodes list each other alive %v after start",
				c.keyed, len(c.running()), time.Since(since).Round(10*time.Millisecond))
			return
		}
		for _, n := range c.nodes {
			if state := n.exited(); state != "" {
				t.Fatalf("%v exited on its own: %s\n%s", n, state, logTail(n.log, 20))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not converge within %v: %s", startTimeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running returns the nodes whose process runs.
func (c *cluster) running() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.running() {
			out = append(out, n)
		}
	}
	return out
}

// ids returns the set of the real members' IDs.
func (c *cluster) ids() map[engine.ID]bool {
	m := make(map[engine.ID]bool, len(c.nodes))
	for _, n := range c.nodes {
		m[n.id] = true
	}
	return m
}

// keyring returns the cluster's keyring (an insider's), or nil when open.
func (c *cluster) keyring() *codec.Keyring {
	if !c.keyed {
		return nil
	}
	kr, err := codec.NewKeyring(c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	return kr
}
