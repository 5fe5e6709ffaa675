package bulk_test

import (
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

var (
	sinkBytes []byte
	sinkErr   error
)

func TestNoAllocs(t *testing.T) {
	state := fullState(10000, 1)
	comp := bulk.Compress(nil, state)
	plain := shardData(state, 48)
	cdg, _ := bulk.CompressDatagram(nil, plain)
	buf := make([]byte, 0, bulk.MaxCompressedLen(len(state)))
	out := make([]byte, 0, len(state))
	dgBuf := make([]byte, 0, codec.HeaderSize+bulk.MaxCompressedLen(codec.MaxBodySize))
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}
	tests := []struct {
		name string
		fn   func()
		err  error
	}{
		{"Compress/full state", func() { sinkBytes = bulk.Compress(buf[:0], state) }, nil},
		{"Decompress/full state", func() { sinkBytes, sinkErr = bulk.Decompress(out[:0], comp, len(state)) }, nil},
		{"Decompress/bomb", func() { sinkBytes, sinkErr = bulk.Decompress(nil, bomb, codec.MaxBodySize) }, bulk.ErrTooLarge},
		{"Decompress/corrupt", func() { sinkBytes, sinkErr = bulk.Decompress(out[:0], comp[:100], len(state)) }, bulk.ErrCorrupt},
		{"CompressDatagram", func() { sinkBytes, sinkErr = bulk.CompressDatagram(dgBuf[:0], plain) }, nil},
		{"DecompressDatagram", func() { sinkBytes, sinkErr = bulk.DecompressDatagram(dgBuf[:0], cdg, codec.MaxBodySize) }, nil},
	}
	for _, tt := range tests {
		sinkErr = nil
		if n := testing.AllocsPerRun(20, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
		if !errors.Is(sinkErr, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, sinkErr, tt.err)
		}
	}
}
