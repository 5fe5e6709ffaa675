//go:build linux

package adversary

import (
	"bytes"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

// TestSegments checks that a GSO super-datagram as the raw socket sees it
// (equal-sized datagrams back to back, the last one shorter) is split
// into the datagrams the receiving socket gets, and that a single
// datagram, or bytes that are not Hearsay, stay whole. Without the split
// the replay test sent such a run to the nodes as one datagram, larger
// than any they take, and counted it as taken as new.
func TestSegments(t *testing.T) {
	datagram := func(hbs int) []byte {
		var b codec.Builder
		b.Reset(make([]byte, 0, 1400), 1400, codec.Header{Type: codec.MsgGossip, Cluster: 7, Sender: 9, Generation: 1})
		for i := range hbs {
			b.AddHeartbeat(codec.Heartbeat{Counter: uint64(i + 1)})
		}
		return b.Finish()
	}
	full, last := datagram(20), datagram(3)
	if len(last) >= len(full) {
		t.Fatalf("test datagrams: last %d bytes, not shorter than %d", len(last), len(full))
	}
	var run []byte
	for range 3 {
		run = append(run, full...)
	}
	run = append(run, last...)
	got := segments(run)
	want := [][]byte{full, full, full, last}
	if len(got) != len(want) {
		t.Fatalf("a run of 4 datagrams split into %d", len(got))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("segment %d: %d bytes, want the datagram of %d", i, len(got[i]), len(want[i]))
		}
	}
	for _, one := range [][]byte{full, last, []byte("not hearsay at all, longer than a header is ........")} {
		if got := segments(one); len(got) != 1 || !bytes.Equal(got[0], one) {
			t.Errorf("a single payload of %d bytes split into %d", len(one), len(got))
		}
	}
}
