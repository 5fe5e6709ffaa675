package fuzz_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

var capture = flag.Bool("capture", false, "rewrite the captured seed corpora under testdata/fuzz")

// lan is a data-center link: 100 µs ± 50 µs one way.
func lan() netio.Link {
	return netio.Link{Latency: netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}}
}

// captured is one delivery with its plain reading.
type captured struct {
	delivery
	header     codec.Header
	body       []byte // plain: opened and decompressed
	compressed bool
	// unbound: sealed for no receiver (a Join or Sync to a seed whose ID
	// the sender did not know yet) rather than for the node it went to.
	unbound bool
	gap     time.Duration // since the previous delivery to the same node
}

// openCaptured opens a captured datagram as its receiver, world node to,
// does: sealed for that node's ID, or, a Join or Sync only, for no one.
func openCaptured(b []byte, ring *codec.Keyring, to int) (plain []byte, unbound bool, err error) {
	p, err := codec.OpenFor(nil, b, ring, uint64(worldIDs[to]))
	if err == nil {
		return p, false, nil
	}
	if hv, herr := codec.NewHeaderView(b); herr == nil && (hv.Type() == codec.MsgJoin || hv.Type() == codec.MsgSync) {
		if p, err = codec.OpenFor(nil, b, ring, 0); err == nil {
			return p, true, nil
		}
	}
	return nil, false, err
}

// captureScenario runs the world as a cluster through a life of joins,
// state changes, a crash, a partition and its healing, a restart and a
// leave, and returns every datagram delivered. keys seals the traffic.
// Nodes start with their tables converged but no address validated, so
// the first exchanges go through Retry and Echo, as after a restart.
func captureScenario(keys [][]byte) ([]captured, error) {
	cfg := worldConfig()
	cfg.Keys = keys
	cfg.Open = len(cfg.Keys) == 0
	var ring *codec.Keyring
	if len(keys) > 0 {
		var err error
		if ring, err = codec.NewKeyring(keys[0], keys[1:]...); err != nil {
			return nil, err
		}
	}
	c, err := newCluster(worldN, worldSeed, cfg, lan(), true)
	if err != nil {
		return nil, err
	}
	var out []captured
	last := map[int]engine.Time{}
	c.tap = func(d delivery) {
		cp := captured{delivery: d}
		b := d.data
		if ring != nil {
			p, unbound, err := openCaptured(b, ring, d.to)
			if err != nil {
				return
			}
			b, cp.unbound = p, unbound
		}
		h, err := codec.ParseHeader(b)
		if err != nil {
			return
		}
		cp.header = h
		cp.body = b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
		if h.Flags&codec.FlagCompressed != 0 {
			if cp.body, err = bulk.Decompress(nil, cp.body, 64<<10); err != nil {
				return
			}
			cp.compressed = true
			cp.header.Flags &^= codec.FlagCompressed
		}
		if t, ok := last[d.to]; ok {
			cp.gap = time.Duration(d.at - t)
		}
		last[d.to] = d.at
		out = append(out, cp)
	}
	steps := []func() error{
		func() error { c.runFor(6 * time.Second); return nil },
		// The application state every target starts with (bootState).
		func() error {
			for _, e := range bootState {
				if err := c.setState(worldByID[engine.ID(e.Owner)], string(e.Key), string(e.Value)); err != nil {
					return err
				}
			}
			c.runFor(3 * time.Second)
			return nil
		},
		// A crash: probes, ping-reqs, nacks, suspicion, death.
		func() error { c.crash(6); c.runFor(25 * time.Second); return nil },
		// A restart at generation 2, joining through node 0: join, join
		// reply, shard requests and data.
		func() error {
			if err := c.restart(7, 0); err != nil {
				return err
			}
			c.runFor(6 * time.Second)
			return nil
		},
		func() error {
			if err := c.setState(1, "load", "0.75"); err != nil {
				return err
			}
			if err := c.nodes[2].core.DeleteState(c.now(), []byte("role")); err != nil {
				return err
			}
			c.flush(c.nodes[2])
			c.runFor(3 * time.Second)
			return nil
		},
		// Node 3 cut off until declared dead, then healed: it hears of its
		// death, runs the rejoin check and refutes.
		func() error {
			c.partition([]int{3}, []int{0, 1, 2, 4, 5, 7})
			c.runFor(25 * time.Second)
			c.heal()
			c.runFor(15 * time.Second)
			return nil
		},
		// Node 5 leaves.
		func() error { c.leave(5); c.runFor(8 * time.Second); return nil },
		// User messages, last so that the windows captured before keep
		// their names: a broadcast of node 1's, relayed by everyone, and
		// a message from node 2 to node 4 alone.
		func() error {
			n1 := c.nodes[1]
			if err := n1.core.Broadcast(c.now(), []byte("to every member")); err != nil {
				return err
			}
			c.flush(n1)
			c.runFor(2 * time.Second)
			n2 := c.nodes[2]
			if err := n2.core.Send(c.now(), c.nodes[4].id, []byte("to node 4 alone")); err != nil {
				return err
			}
			c.flush(n2)
			c.runFor(2 * time.Second)
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// feature names what makes a captured datagram interesting: its type and
// the kinds of record it carries, with member states, records about the
// receiver itself, compression, and sealing for no receiver.
func feature(cp *captured) string {
	f := cp.header.Type.String()
	if cp.compressed {
		f += "+z"
	}
	if cp.unbound {
		f += "+unbound"
	}
	kinds := map[string]bool{}
	var r codec.Reader
	r.Reset(int(cp.header.Sections), cp.body)
	for r.Next() {
		for i := 0; i < r.Count(); i++ {
			switch r.Type() {
			case codec.RecMember:
				m, _, _ := codec.ParseMember(r.Record(i))
				k := "member-" + m.State.String()
				if isNode(m.ID, cp.to) {
					k = "self-" + m.State.String()
				}
				if m.Generation > 1 {
					k += "-gen"
				}
				kinds[k] = true
			case codec.RecState:
				e, _, _ := codec.ParseStateEntry(r.Record(i))
				if e.Deleted {
					kinds["state-deleted"] = true
				} else {
					kinds["state"] = true
				}
			case codec.RecVerdict:
				v, _, _ := codec.ParseVerdict(r.Record(i))
				kinds["verdict-"+v.State.String()] = true
			case codec.RecRetry:
				x, _, _ := codec.ParseRetry(r.Record(i))
				kinds["retry-"+x.For.String()] = true
			case codec.RecUser:
				x, _, _ := codec.ParseUserMsg(r.Record(i))
				if x.Broadcast {
					kinds["broadcast"] = true
				} else {
					kinds["send"] = true
				}
			case codec.RecPayload:
			default:
				kinds[r.Type().String()] = true
			}
		}
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		f += "," + k
	}
	return f
}

// corpusWindows picks, for each feature, its first occurrence, with the
// datagrams the same node received just before and just after it. Names
// number the features in order of first occurrence.
func corpusWindows(all []captured, before, after int) map[string][]captured {
	seen := map[string]bool{}
	out := map[string][]captured{}
	for i := range all {
		f := feature(&all[i])
		if seen[f] {
			continue
		}
		seen[f] = true
		to := all[i].to
		var w []captured
		for j, n := i-1, 0; j >= 0 && n < before; j-- {
			if all[j].to == to {
				w = append([]captured{all[j]}, w...)
				n++
			}
		}
		w = append(w, all[i])
		for j, n := i+1, 0; j < len(all) && n < after; j++ {
			if all[j].to == to {
				w = append(w, all[j])
				n++
			}
		}
		out[fmt.Sprintf("%02d-%s", len(out), strings.ReplaceAll(f, ",", "_"))] = w
	}
	return out
}

// frameInput encodes a window as a raw-target input.
func frameInput(w []captured) []byte {
	in := []byte{byte(w[0].to)}
	for i, cp := range w {
		gap := cp.gap
		if i == 0 {
			gap = 0
		}
		in = appendFrame(in, sourceNibble(cp.from), gap, false, cp.data)
	}
	return in
}

// programInput encodes a window as a FuzzCoreSequence program.
func programInput(w []captured, keyed bool) []byte {
	p := newProgram(keyed, w[0].to)
	for i, cp := range w {
		if i > 0 && cp.gap > 0 {
			p.advance(stepCode(cp.gap))
		}
		p.datagram(cp.from, &cp.header, cp.body, cp.compressed, cp.unbound)
	}
	return p.b
}

// TestCaptureCorpus runs the capture scenario, checks that it produces
// every message type, and with -capture rewrites the captured seed corpora:
//
//	go test ./fuzz -run TestCaptureCorpus -args -capture
//
// The sealed corpus changes at every capture (nonces are random); the
// others are deterministic.
func TestCaptureCorpus(t *testing.T) {
	plain, err := captureScenario(nil)
	if err != nil {
		t.Fatal(err)
	}
	types := map[codec.MsgType]int{}
	recs := map[codec.RecType]int{}
	for _, cp := range plain {
		types[cp.header.Type]++
		var r codec.Reader
		r.Reset(int(cp.header.Sections), cp.body)
		for r.Next() {
			recs[r.Type()] += r.Count()
		}
	}
	for mt := codec.MsgType(1); mt.Known(); mt++ {
		if types[mt] == 0 {
			t.Errorf("the capture scenario delivered no %v datagram", mt)
		}
	}
	for rt := codec.RecHeartbeat; rt <= codec.RecPayload; rt++ {
		if recs[rt] == 0 {
			t.Errorf("the capture scenario delivered no %v record", rt)
		}
	}
	t.Logf("captured %d datagrams: %v", len(plain), types)
	if !*capture {
		return
	}
	sealed, err := captureScenario([][]byte{keyA})
	if err != nil {
		t.Fatal(err)
	}
	raw, prog := map[string][]byte{}, map[string][]byte{}
	for name, w := range corpusWindows(plain, 3, 1) {
		raw[name] = frameInput(w)
		prog[name] = programInput(w, false)
	}
	seal := map[string][]byte{}
	for name, w := range corpusWindows(sealed, 2, 1) {
		seal[name] = frameInput(w)
		if name < "08" {
			prog["sealed-"+name] = programInput(w, true)
		}
		if name < "04" || strings.Contains(name, "+unbound") {
			// The same window delivered to the next node, which it was not
			// sealed for: every datagram fails authentication there, but
			// a Join or Sync sealed for no one.
			in := frameInput(w)
			in[0] = byte((w[0].to + 1) % worldN)
			seal["redirected-"+name] = in
		}
	}
	// One long sequence per target: everything node 3 received around its
	// partition, healing and rejoin.
	var long []captured
	for _, cp := range plain {
		if cp.to == 3 && len(long) < maxFrames {
			if len(long) > 0 || hasSelfRecord(&cp) {
				long = append(long, cp)
			}
		}
	}
	if len(long) > 0 {
		raw["long-node3-rejoin"] = frameInput(long)
		prog["long-node3-rejoin"] = programInput(long, false)
	}
	dir := filepath.Join("testdata", "fuzz")
	for target, inputs := range map[string]map[string][]byte{
		"FuzzCoreReceive":       raw,
		"FuzzCoreReceiveSealed": seal,
		"FuzzCoreSequence":      prog,
	} {
		if err := writeCorpus(filepath.Join(dir, target), "capture", inputs); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: wrote %d captured inputs", target, len(inputs))
	}
}

// hasSelfRecord reports whether a datagram carries a non-alive record
// about its receiver: a member record, or a Verdict.
func hasSelfRecord(cp *captured) bool {
	var r codec.Reader
	r.Reset(int(cp.header.Sections), cp.body)
	for r.Next() {
		for i := 0; i < r.Count(); i++ {
			switch r.Type() {
			case codec.RecMember:
				m, _, _ := codec.ParseMember(r.Record(i))
				if isNode(m.ID, cp.to) && m.State != codec.StateAlive {
					return true
				}
			case codec.RecVerdict:
				if v, _, _ := codec.ParseVerdict(r.Record(i)); v.State != codec.StateAlive {
					return true
				}
			}
		}
	}
	return false
}

// isNode reports whether id is world node i's.
func isNode(id uint64, i int) bool {
	j, ok := worldByID[engine.ID(id)]
	return ok && j == i
}
