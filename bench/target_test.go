package bench

import (
	"math"
	"testing"
)

// TestTargetOps checks every comparison a goal may make at, below and
// above its value, and its symbol. A goal of "< 1.5" once met nothing,
// whatever the value (join bytes against the floor in the bootstrap), for
// Meets knew only "<=", ">=" and "==".
func TestTargetOps(t *testing.T) {
	for _, tc := range []struct {
		op               string
		below, at, above bool
		sym              string
	}{
		{"<=", true, true, false, "≤"},
		{">=", false, true, true, "≥"},
		{"==", false, true, false, "="},
		{"<", true, false, false, "<"},
		{">", false, false, true, ">"},
	} {
		var f Figure
		Goal(tc.op, 1.5, "test")(&f)
		for _, c := range []struct {
			v    float64
			want bool
		}{{1.4, tc.below}, {1.5, tc.at}, {1.6, tc.above}, {math.NaN(), false}} {
			if got := f.Target.Meets(c.v); got != c.want {
				t.Errorf("%s 1.5: Meets(%v) = %v, want %v", tc.op, c.v, got, c.want)
			}
		}
		if got, want := f.Target.String("ratio"), tc.sym+" "+FormatValue(1.5, "ratio"); got != want {
			t.Errorf("%s 1.5: String = %q, want %q", tc.op, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Goal with an unknown comparison did not panic")
		}
	}()
	Goal("=<", 1, "test")
}
