package ring_test

import (
	"math"
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

func TestRange(t *testing.T) {
	const max = math.MaxUint64
	tests := []struct {
		g    ring.Range
		key  uint64
		in   bool
		size uint64
	}{
		{ring.Range{Start: 10, End: 20}, 10, false, 10},
		{ring.Range{Start: 10, End: 20}, 11, true, 10},
		{ring.Range{Start: 10, End: 20}, 20, true, 10},
		{ring.Range{Start: 10, End: 20}, 21, false, 10},
		{ring.Range{Start: 10, End: 20}, 0, false, 10},
		// Wrapping around zero.
		{ring.Range{Start: max - 1, End: 1}, max - 1, false, 3},
		{ring.Range{Start: max - 1, End: 1}, max, true, 3},
		{ring.Range{Start: max - 1, End: 1}, 0, true, 3},
		{ring.Range{Start: max - 1, End: 1}, 1, true, 3},
		{ring.Range{Start: max - 1, End: 1}, 2, false, 3},
		{ring.Range{Start: max, End: 0}, 0, true, 1},
		{ring.Range{Start: max, End: 0}, max, false, 1},
		{ring.Range{Start: 0, End: max}, 0, false, max},
		{ring.Range{Start: 0, End: max}, max, true, max},
		// The whole circle.
		{ring.Range{Start: 5, End: 5}, 5, true, 0},
		{ring.Range{Start: 5, End: 5}, 6, true, 0},
		{ring.Range{Start: 5, End: 5}, 0, true, 0},
	}
	for _, tt := range tests {
		if got := tt.g.Contains(tt.key); got != tt.in {
			t.Errorf("%+v.Contains(%#x) = %v, want %v", tt.g, tt.key, got, tt.in)
		}
		if got := tt.g.Size(); got != tt.size {
			t.Errorf("%+v.Size() = %#x, want %#x", tt.g, got, tt.size)
		}
	}
}
