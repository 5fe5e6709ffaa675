package ring

// Range is an arc of the 2^64 key circle: the keys k with Start < k <= End
// going clockwise (increasing, wrapping from 2^64-1 to 0), that is the
// half-open interval (Start, End].
//
// When Start > End the range wraps around zero: it holds the keys above
// Start and the keys from 0 to End. When Start == End the range is the whole
// circle; Ring.Ranges returns such a range only for a member that owns every
// key, and never returns an empty range.
type Range struct {
	Start, End uint64
}

// Contains reports whether key lies in the range.
func (g Range) Contains(key uint64) bool {
	if g.Start == g.End {
		return true
	}
	// key-Start-1 wraps to 2^64-1 for key == Start, which is outside.
	return key-g.Start-1 < g.End-g.Start
}

// Size returns the number of keys in the range modulo 2^64: End-Start with
// wrap-around. The whole circle (Start == End) holds 2^64 keys and so reports
// zero.
func (g Range) Size() uint64 {
	return g.End - g.Start
}
