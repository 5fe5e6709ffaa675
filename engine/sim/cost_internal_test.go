package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/netio"
)

// The cost of a datagram follows from its header: its body's size, plain,
// sealed or compressed, and what sealing costs.
func TestCostOfDatagrams(t *testing.T) {
	m := CostModel{
		Recv: 1000, Datagram: 10000, BodyKiB: 1024, // 1 ns a byte of body
		Send: 100000, EmitKiB: 2048, // 2 ns a byte sent
		Open: 500, OpenKiB: 10240, Seal: 700, SealKiB: 20480, // 10 and 20 ns a byte
	}
	h := codec.Header{Type: codec.MsgGossip, Cluster: 1, Sender: 2}
	var bl codec.Builder
	bl.Reset(make([]byte, 0, codec.DefaultDatagramSize), codec.DefaultDatagramSize, h)
	for i := range 20 {
		mem := codec.Member{ID: uint64(i + 1), Generation: 1, State: codec.StateAlive}
		bl.AddMember(&mem)
	}
	plain := append([]byte(nil), bl.Finish()...)
	body := len(plain) - codec.HeaderSize
	kr, err := codec.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := codec.Seal(nil, plain, kr)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := bulk.CompressDatagram(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(zipped) >= len(plain) {
		t.Fatalf("20 member records did not compress: %d bytes, plain %d", len(zipped), len(plain))
	}
	ns := func(n int) time.Duration { return time.Duration(n) }
	for _, tc := range []struct {
		name string
		b    []byte
		want time.Duration
	}{
		{"plain", plain, ns(1000 + 10000 + body)},
		{"sealed", sealed, ns(1000+10000+500+10*len(sealed)) + ns(body)},
		{"compressed", zipped, ns(1000 + 10000 + body)}, // the decompressed size
		{"short", plain[:10], ns(1000 + 10000)},
		{"truncated", plain[:100], ns(1000 + 10000 + 100 - codec.HeaderSize)},
	} {
		if got := m.receive(tc.b); got != tc.want {
			t.Errorf("receive(%s, %d bytes) = %v, want %v", tc.name, len(tc.b), got, tc.want)
		}
	}
	msgs := []netio.Message{{Buf: plain}, {Buf: sealed}}
	want := ns(2*100000 + 2*len(plain) + 2*len(sealed) + 700 + 20*len(sealed))
	if got := m.emit(msgs); got != want {
		t.Errorf("emit(plain, sealed) = %v, want %v", got, want)
	}
	if got := m.emit(nil); got != 0 {
		t.Errorf("emit(nothing) = %v, want 0", got)
	}
}
