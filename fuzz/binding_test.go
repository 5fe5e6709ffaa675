package fuzz_test

import (
	"net/netip"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// TestReceiverBinding runs the sealed target's binding seeds
// (bindingSeeds) and checks, beyond the checker's invariants, what each
// datagram must do: one sealed for another member, or sealed for no one
// and not a Join or Sync, fails authentication (DropAuth) and is not
// answered; a Join sealed for no one is answered with one Retry and
// nothing more; a Sync sealed for no one is not served even with a valid
// Echo (at most its size comes back), and the same Sync sealed for the
// node is.
func TestReceiverBinding(t *testing.T) {
	type want struct {
		auth  bool          // dropped as DropAuth, nothing else
		in    codec.MsgType // else accepted, counted as this type
		retry bool          // answered with one Retry token
		small bool          // answered with at most its own size
		serve codec.MsgType // answered with a datagram of this type (0: none required)
	}
	never := []codec.MsgType{codec.MsgJoinReply, codec.MsgSyncReply, codec.MsgShardData, codec.MsgShardRequest}
	seeds := bindingSeeds()
	for k, tc := range []struct {
		name  string
		wants []want
	}{
		{"redirected", []want{{auth: true}, {auth: true}, {auth: true}}},
		{"unbound-join", []want{{in: codec.MsgJoin, retry: true, small: true}, {auth: true}}},
		{"unbound-sync-with-echo", []want{
			{in: codec.MsgSync, retry: true, small: true},
			{in: codec.MsgSync, small: true},
			{in: codec.MsgSync, serve: codec.MsgSyncReply},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var frames []frame
			node := splitFrames(seeds[k], func(f frame) { frames = append(frames, f) })
			tg, err := newTarget(node, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != len(tc.wants) {
				t.Fatalf("%d frames, want %d", len(frames), len(tc.wants))
			}
			type sent struct {
				to netip.AddrPort
				t  codec.MsgType
			}
			var out []sent
			tg.seen = func(to netip.AddrPort, h *codec.Header, _ []byte) { out = append(out, sent{to, h.Type}) }
			for i, f := range frames {
				w := tc.wants[i]
				out = out[:0]
				before := tg.core.Stats()
				b := tg.deliver(f)
				if tg.chk.err != nil {
					t.Fatalf("frame %d: %v", i, tg.chk.err)
				}
				after := tg.core.Stats()
				if w.auth {
					if after.DropAuth != before.DropAuth+1 || len(out) != 0 || after.In != before.In {
						t.Errorf("frame %d: DropAuth %d -> %d, %d answers, In %v -> %v; want DropAuth +1, no answer, nothing accepted",
							i, before.DropAuth, after.DropAuth, len(out), before.In, after.In)
					}
					continue
				}
				if after.DropAuth != before.DropAuth || after.In[w.in] != before.In[w.in]+1 {
					t.Errorf("frame %d: DropAuth %d -> %d, In[%v] %d -> %d; want it accepted as %v",
						i, before.DropAuth, after.DropAuth, w.in, before.In[w.in], after.In[w.in], w.in)
				}
				if got := after.RetriesSent - before.RetriesSent; w.retry && got != 1 {
					t.Errorf("frame %d: %d Retry tokens sent, want 1", i, got)
				}
				if got := after.BytesOut - before.BytesOut; w.small && got > uint64(len(b)) {
					t.Errorf("frame %d: a %d-byte %v answered with %d bytes, from an address that has not proven itself",
						i, len(b), w.in, got)
				}
				served := false
				for _, o := range out {
					if o.to != f.from {
						continue
					}
					served = served || o.t == w.serve
					for _, n := range never {
						if w.small && o.t == n {
							t.Errorf("frame %d: a %v from an address that has not proven itself was answered with a %v", i, w.in, n)
						}
					}
				}
				if w.serve != 0 && !served {
					t.Errorf("frame %d: a %v sealed for the node with a valid Echo was not answered with a %v (sent %v)", i, w.in, w.serve, out)
				}
			}
		})
	}
}

// TestTokenOracle checks the checker's token oracle (tokenOracle) against
// the tokens a node issues: a sync whose digest differs, from an address
// that has not proven itself, gets a Retry whose token the oracle gives
// for that address and epoch, open and sealed.
func TestTokenOracle(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		for _, node := range []int{0, 5} {
			tg, err := newTarget(node, keyed)
			if err != nil {
				t.Fatal(err)
			}
			var got []codec.Retry
			tg.seen = func(to netip.AddrPort, h *codec.Header, body []byte) {
				var r codec.Reader
				r.Reset(int(h.Sections), body)
				for r.Next() {
					if r.Type() == codec.RecRetry && r.Count() > 0 {
						x, _, _ := codec.ParseRetry(r.Record(0))
						got = append(got, x)
					}
				}
			}
			var b codec.Builder
			b.Reset(make([]byte, 0, 256), 256, codec.Header{
				Type: codec.MsgSync, Cluster: worldCluster, Sender: uint64(foreignIDs[2]), Generation: 1, Seq: 1,
			})
			b.AddDigest(codec.Digest{Count: 8, Sum: 1})
			tg.deliver(frame{from: foreignAddrs[1], seal: map[bool]sealing{false: sealNone, true: sealForNode}[keyed], data: b.Finish()})
			if tg.chk.err != nil {
				t.Fatal(tg.chk.err)
			}
			if len(got) != 1 || got[0].Token == 0 {
				t.Fatalf("keyed %v node %d: the sync was answered with Retries %+v, want one with a token", keyed, node, got)
			}
			if o := tg.chk.tokens(foreignAddrs[1], got[0].Epoch); o != got[0].Token {
				t.Errorf("keyed %v node %d: the node issued token %#x for epoch %d, the oracle gives %#x", keyed, node, got[0].Token, got[0].Epoch, o)
			}
		}
	}
}
