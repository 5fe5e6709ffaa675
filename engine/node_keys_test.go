package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// key returns a 32-byte test key filled with b.
func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func keyIDs(keys ...[]byte) []codec.KeyID {
	var ids []codec.KeyID
	for _, k := range keys {
		ids = append(ids, codec.KeyIDOf(k))
	}
	return ids
}

// TestKeyAPI checks each key-rotation call on one node: what it does to
// KeyIDs and every error it returns.
func TestKeyAPI(t *testing.T) {
	logs := &levelCounter{n: map[string]int{}}
	cfg := testConfig()
	cfg.Logger = slog.New(logs)
	k1, k2, k3 := key(1), key(2), key(3)
	cfg.Keys = [][]byte{k1, k1} // a repeated key counts once
	cfg.Open = len(cfg.Keys) == 0
	nd := startNodes(t, 1, cfg)[0]
	check := func(step string, want ...[]byte) {
		t.Helper()
		if got := nd.KeyIDs(); !slices.Equal(got, keyIDs(want...)) {
			t.Errorf("%s: KeyIDs() = %v, want %v", step, got, keyIDs(want...))
		}
	}
	check("start", k1)

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"InstallKey(15 bytes)", nd.InstallKey(make([]byte, 15)), codec.ErrKeySize},
		{"UsePrimaryKey(not installed)", nd.UsePrimaryKey(k2), engine.ErrKeyNotInstalled},
		{"RemoveKey(not installed)", nd.RemoveKey(k2), engine.ErrKeyNotInstalled},
		{"RemoveKey(primary)", nd.RemoveKey(k1), engine.ErrPrimaryKey},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	check("after the refused calls", k1)

	if err := nd.InstallKey(k2); err != nil {
		t.Fatalf("InstallKey(k2) = %v", err)
	}
	if err := nd.InstallKey(k2); err != nil {
		t.Errorf("InstallKey(k2) again = %v, want nil", err)
	}
	check("installed k2", k1, k2)
	if err := nd.UsePrimaryKey(k1); err != nil {
		t.Errorf("UsePrimaryKey(current primary) = %v, want nil", err)
	}
	if err := nd.UsePrimaryKey(k2); err != nil {
		t.Fatalf("UsePrimaryKey(k2) = %v", err)
	}
	check("k2 primary", k2, k1)
	if err := nd.RemoveKey(k1); err != nil {
		t.Fatalf("RemoveKey(k1) = %v", err)
	}
	check("k1 removed", k2)

	// The node copies the key it is given.
	buf := bytes.Clone(k3)
	if err := nd.InstallKey(buf); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if err := nd.UsePrimaryKey(k3); err != nil {
		t.Errorf("UsePrimaryKey(k3) after the caller cleared its slice = %v", err)
	}
	check("k3 primary", k3, k2)

	if err := nd.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"InstallKey":    nd.InstallKey(key(4)),
		"UsePrimaryKey": nd.UsePrimaryKey(k2),
		"RemoveKey":     nd.RemoveKey(k2),
	} {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	check("after Close", k3, k2)

	logs.mu.Lock()
	defer logs.mu.Unlock()
	for prefix, want := range map[string]int{
		"INFO installed a key":      2,
		"INFO switched the primary": 2,
		"INFO removed a key":        1,
		"WARN cluster is open":      0,
		"WARN refusing":             0,
		"INFO hearsay node started": 1,
		"ERROR":                     0,
	} {
		got := 0
		for msg, c := range logs.n {
			if strings.HasPrefix(msg, prefix) {
				got += c
			}
		}
		if got != want {
			t.Errorf("log lines starting %q: %d, want %d", prefix, got, want)
		}
	}
}

// TestKeyAPIOpenCluster: a node started without keys runs an open cluster
// and refuses every key call.
func TestKeyAPIOpenCluster(t *testing.T) {
	nd := startNodes(t, 1, testConfig())[0]
	for name, err := range map[string]error{
		"InstallKey":    nd.InstallKey(key(1)),
		"UsePrimaryKey": nd.UsePrimaryKey(key(1)),
		"RemoveKey":     nd.RemoveKey(key(1)),
	} {
		if !errors.Is(err, engine.ErrOpenCluster) {
			t.Errorf("%s on an open node = %v, want ErrOpenCluster", name, err)
		}
	}
	if ids := nd.KeyIDs(); ids != nil {
		t.Errorf("KeyIDs() on an open node = %v, want nil", ids)
	}
}

// TestOpenClusterWarning: a node writes one line at start: a node
// without keys a warning that its cluster is open, a node with keys a line
// at Info.
func TestOpenClusterWarning(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		logs := &levelCounter{n: map[string]int{}}
		cfg := testConfig()
		cfg.Logger = slog.New(logs)
		if keyed {
			cfg.Keys = [][]byte{key(1)}
			cfg.Open = len(cfg.Keys) == 0
		}
		nodes := startNodes(t, 2, cfg)
		joinAll(t, nodes, bound(cfg, 40))
		if err := nodes[0].SetState([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes {
			nd.Close()
		}
		wantOpen, wantInfo := 2, 0
		if keyed {
			wantOpen, wantInfo = 0, 2
		}
		logs.mu.Lock()
		open, info := 0, 0
		for msg, c := range logs.n {
			switch {
			case strings.HasPrefix(msg, "WARN hearsay node started with an open cluster: no Keys"):
				open += c
			case msg == "INFO hearsay node started":
				info += c
			}
		}
		logs.mu.Unlock()
		if open != wantOpen || info != wantInfo {
			t.Errorf("keys %v: %d open-cluster warnings and %d lines at Info at start from 2 nodes, want %d and %d",
				keyed, open, info, wantOpen, wantInfo)
		}
	}
}

// await is waitFor without the log line: it polls cond every 2 ms and
// fails the test if it does not hold within d.
func await(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %s", what, d, status)
		}
		<-tick.C
	}
}

// deathWatch counts, on every node, the dead and suspect events about any
// of the nodes.
type deathWatch struct {
	subs []*engine.Subscription
}

func watchDeaths(nodes []*engine.Node) *deathWatch {
	w := &deathWatch{}
	for _, nd := range nodes {
		w.subs = append(w.subs, nd.Subscribe(4096, engine.EventDead, engine.EventSuspect))
	}
	return w
}

// counts drains the subscriptions and returns the events seen so far.
func (w *deathWatch) counts(t testing.TB) (dead, suspect int) {
	t.Helper()
	for i, s := range w.subs {
		if s.Dropped() != 0 {
			t.Fatalf("node %d: %d dead or suspect events dropped at a full subscription", i, s.Dropped())
		}
		for {
			select {
			case e := <-s.Events():
				switch e.Type {
				case engine.EventDead:
					dead++
				case engine.EventSuspect:
					suspect++
				}
				continue
			default:
			}
			break
		}
	}
	return dead, suspect
}

// TestKeyRotationCluster rotates the key of a 20-node cluster over
// loopback UDP with the three calls, one node after the other, while a
// writer keeps updating the application state of every node. Between two
// nodes it waits until the node just changed has sent datagrams, so each
// step runs with the cluster partly switched. At the end of each step:
// every node holds every node's latest values, no datagram was dropped
// for its key, its authentication or its sealing, every node holds the
// expected keys, and nobody was declared dead.
func TestKeyRotationCluster(t *testing.T) {
	const n = 20
	old, next := key(1), key(2)
	cfg := testConfig()
	cfg.Keys = [][]byte{old}
	cfg.Open = len(cfg.Keys) == 0
	nodes := startNodes(t, n, cfg)
	joinAll(t, nodes, bound(cfg, 40))
	waitFor(t, bound(cfg, 40), "20 nodes converge", func() (bool, string) { return converged(nodes, n) })
	deaths := watchDeaths(nodes)

	// The writer sets "tick" on one node after the other, continuously;
	// holding mu pauses it, and last holds each node's latest value.
	var (
		mu   sync.Mutex
		last = make([]string, n)
		stop = make(chan struct{})
		done = make(chan error)
	)
	go func() {
		var err error
		defer func() { done <- err }()
		pace := time.NewTicker(5 * time.Millisecond) // 200 updates a second
		defer pace.Stop()
		for v := 0; ; v++ {
			select {
			case <-stop:
				return
			case <-pace.C:
			}
			mu.Lock()
			i := v % n
			val := fmt.Sprintf("tick %d", v)
			if err = nodes[i].SetState([]byte("tick"), []byte(val)); err == nil {
				last[i] = val
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	}()

	steps := []struct {
		name string
		do   func(*engine.Node) error
		want []codec.KeyID
	}{
		{"install the new key", func(nd *engine.Node) error { return nd.InstallKey(next) }, keyIDs(old, next)},
		{"make it primary", func(nd *engine.Node) error { return nd.UsePrimaryKey(next) }, keyIDs(next, old)},
		{"remove the old key", func(nd *engine.Node) error { return nd.RemoveKey(old) }, keyIDs(next)},
	}
	for k, st := range steps {
		start := time.Now()
		for i, nd := range nodes {
			sent := nd.Stats().DatagramsOut
			if err := st.do(nd); err != nil {
				t.Fatalf("step %d (%s), node %d: %v", k+1, st.name, i, err)
			}
			if err := nd.SetState([]byte("step"), fmt.Appendf(nil, "%d", k+1)); err != nil {
				t.Fatal(err)
			}
			await(t, bound(cfg, 20), fmt.Sprintf("step %d: node %d sends after the change", k+1, i), func() (bool, string) {
				got := nd.Stats().DatagramsOut
				return got >= sent+3, fmt.Sprintf("%d datagrams sent", got-sent)
			})
		}
		mu.Lock() // pause the writer: its last values must reach everyone
		waitFor(t, bound(cfg, 40), fmt.Sprintf("step %d: every update on every node", k+1), func() (bool, string) {
			for i, nd := range nodes {
				for j, src := range nodes {
					if v, _, _ := nd.State(src.ID(), []byte("step")); string(v) != fmt.Sprint(k+1) {
						return false, fmt.Sprintf("node %d holds step %q of node %d", i, v, j)
					}
					if last[j] == "" {
						continue
					}
					if v, _, _ := nd.State(src.ID(), []byte("tick")); string(v) != last[j] {
						return false, fmt.Sprintf("node %d holds %q of node %d, want %q", i, v, j, last[j])
					}
				}
			}
			return true, ""
		})
		mu.Unlock()
		var unknown, auth, sealing uint64
		for i, nd := range nodes {
			s := nd.Stats()
			unknown += s.DropUnknownKey
			auth += s.DropAuth
			sealing += s.DropSealed + s.DropUnsealed + s.SealErrors
			if got := nd.KeyIDs(); !slices.Equal(got, st.want) {
				t.Errorf("step %d: node %d KeyIDs() = %v, want %v", k+1, i, got, st.want)
			}
		}
		if unknown != 0 || auth != 0 || sealing != 0 {
			t.Errorf("step %d (%s): drops: unknown key %d, authentication %d, sealing %d; want 0", k+1, st.name, unknown, auth, sealing)
		}
		dead, suspect := deaths.counts(t)
		if dead != 0 {
			t.Fatalf("step %d (%s): %d dead events", k+1, st.name, dead)
		}
		t.Logf("step %d (%s): done on 20 nodes and converged in %v; %d suspect events so far",
			k+1, st.name, time.Since(start).Round(time.Millisecond), suspect)
	}
	if ok, status := converged(nodes, n); !ok {
		t.Errorf("after the rotation: %s", status)
	}
}

// TestClusterIsolation: a node that tries to join through a seed it must
// not talk to gets no answer, the seed counts every datagram it refused
// under the expected cause, and neither learns the other: another
// cluster's name (with no keys, and with the very same key), another key,
// no key where keys are required, and a key where the cluster is open.
func TestClusterIsolation(t *testing.T) {
	for _, tc := range []struct {
		name               string
		seedName, joinName string
		seedKeys, joinKeys [][]byte
		count              func(engine.NodeStats) uint64
	}{
		{"another cluster, open", "alpha", "beta", nil, nil, func(s engine.NodeStats) uint64 { return s.DropCluster }},
		{"another cluster, same key", "alpha", "beta", [][]byte{key(1)}, [][]byte{key(1)}, func(s engine.NodeStats) uint64 { return s.DropCluster }},
		{"another key", "alpha", "alpha", [][]byte{key(1)}, [][]byte{key(2)}, func(s engine.NodeStats) uint64 { return s.DropUnknownKey }},
		{"no key, keys required", "alpha", "alpha", [][]byte{key(1)}, nil, func(s engine.NodeStats) uint64 { return s.DropUnsealed }},
		{"a key, open cluster", "alpha", "alpha", nil, [][]byte{key(1)}, func(s engine.NodeStats) uint64 { return s.DropSealed }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.ClusterName, cfg.Keys = tc.seedName, tc.seedKeys
			cfg.Open = len(cfg.Keys) == 0
			seed := startNodes(t, 1, cfg)[0]
			cfg.ClusterName, cfg.Keys = tc.joinName, tc.joinKeys
			cfg.Open = len(cfg.Keys) == 0
			stranger := startNodes(t, 1, cfg)[0]

			ctx, cancel := context.WithTimeout(context.Background(), 4*cfg.ProbeTimeout)
			defer cancel()
			err := stranger.Join(ctx, seed.Addr())
			if !errors.Is(err, engine.ErrNoSeedAnswered) {
				t.Errorf("Join through the seed = %v, want ErrNoSeedAnswered", err)
			}
			await(t, bound(cfg, 20), "the seed reads the stranger's datagrams", func() (bool, string) {
				return seed.Stats().DatagramsIn > 0, "none read"
			})
			s := seed.Stats()
			if got := tc.count(s); got == 0 || got != s.DatagramsIn {
				t.Errorf("seed: %d of %d datagrams counted under the expected cause, want all and at least one", got, s.DatagramsIn)
			}
			if s.DatagramsOut != 0 {
				t.Errorf("seed sent %d datagrams to the stranger, want 0", s.DatagramsOut)
			}
			for _, pair := range [][2]*engine.Node{{seed, stranger}, {stranger, seed}} {
				if live, total := pair[0].NumMembers(); live != 1 || total != 1 {
					t.Errorf("a node knows %d live and %d members, want only itself", live, total)
				}
				if _, ok := pair[0].Member(pair[1].ID()); ok {
					t.Errorf("a node learned the other")
				}
			}
		})
	}
}

// Rotate the key of a running two-node cluster in the three steps, each
// done on every node before the next: install the new key, make it
// primary, remove the old one. The nodes keep talking throughout.
func ExampleNode_UsePrimaryKey() {
	oldKey := bytes.Repeat([]byte{1}, 32) // in practice: 32 random bytes from a secret store
	newKey := bytes.Repeat([]byte{2}, 32)
	cfg := exampleConfig()
	cfg.Keys = [][]byte{oldKey}
	cfg.Open = len(cfg.Keys) == 0
	a, err := engine.NewNode(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := engine.NewNode(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, a.Addr()); err != nil {
		log.Fatal(err)
	}
	nodes := []*engine.Node{a, b}

	for _, nd := range nodes { // 1. every node accepts the new key
		if err := nd.InstallKey(newKey); err != nil {
			log.Fatal(err)
		}
	}
	for _, nd := range nodes { // 2. every node seals with it
		if err := nd.UsePrimaryKey(newKey); err != nil {
			log.Fatal(err)
		}
	}
	for _, nd := range nodes { // 3. nobody accepts the old key any more
		if err := nd.RemoveKey(oldKey); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("keys:", len(a.KeyIDs()), "primary is the new key:", a.KeyIDs()[0] == codec.KeyIDOf(newKey))
	fmt.Println("removing the primary key:", errors.Is(a.RemoveKey(newKey), engine.ErrPrimaryKey))

	// The cluster still talks: a change on a reaches b, sealed with the new key.
	changes := b.Subscribe(16, engine.EventState)
	defer changes.Close()
	if err := a.SetState([]byte("epoch"), []byte("2")); err != nil {
		log.Fatal(err)
	}
	select {
	case e := <-changes.Events():
		fmt.Printf("b got %s=%s\n", e.Key, e.Value)
	case <-ctx.Done():
		log.Fatal(ctx.Err())
	}
	// Output:
	// keys: 1 primary is the new key: true
	// removing the primary key: true
	// b got epoch=2
}
