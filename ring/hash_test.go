package ring_test

import (
	"testing"

	"github.com/hearsay-io/hearsay/ring"
)

// TestPositionGolden pins Position: the engine and every other process
// order members by it, so a change here is a protocol change.
func TestPositionGolden(t *testing.T) {
	tests := []struct {
		id, want uint64
	}{
		{0, 0x34c96acdcadb1bbb},
		{1, 0x9f1ffc793b8a47da},
		{0x0123456789abcdef, 0xac8821de370a88ec},
		{0xffffffffffffffff, 0x85d136adb773c6c9},
	}
	for _, tt := range tests {
		if got := ring.Position(tt.id); got != tt.want {
			t.Errorf("Position(%#x) = %#x, want %#x", tt.id, got, tt.want)
		}
		if got := refPosition(tt.id); got != tt.want {
			t.Errorf("xxhash64 of the big-endian bytes of %#x = %#x, want %#x", tt.id, got, tt.want)
		}
	}
}

func TestKeyHashGolden(t *testing.T) {
	tests := []struct {
		key  string
		want uint64
	}{
		{"", 0xef46db3751d8e999}, // the published XXH64 of empty input, seed 0
		{"hearsay", 0xf8206c2693f944bd},
	}
	for _, tt := range tests {
		if got := ring.KeyHash([]byte(tt.key)); got != tt.want {
			t.Errorf("KeyHash(%q) = %#x, want %#x", tt.key, got, tt.want)
		}
	}
}
