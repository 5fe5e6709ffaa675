package detector_test

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// The fuzz input is a configuration byte and a program of operations on
// a time cursor. Each operation is one byte, then a little-endian signed
// value of 1, 2, 4 or 8 bytes:
//
//	op & 3:        0 heartbeat at cursor+v, 1 query at cursor+v (both move
//	               the cursor), 2 sweep 33 queries over [cursor, cursor+v],
//	               3 reset
//	op >> 2 & 3:   value size: 1, 2, 4 or 8 bytes
//	op >> 4 & 3:   unit: ns, µs, ms, s (saturating)
//
// so deltas may be negative (time going backwards), zero (equal times) or
// enormous (MinTime to MaxTime).
const (
	opBeat = iota
	opQuery
	opSweep
	opReset
)

type fuzzOp struct {
	kind int
	v    time.Duration
}

// encodeOps writes ops in the fuzz format, in milliseconds when the value
// is a whole number of them.
func encodeOps(ops ...fuzzOp) []byte {
	var b []byte
	for _, o := range ops {
		v, unit := int64(o.v), 0
		if v%int64(time.Millisecond) == 0 {
			v, unit = v/int64(time.Millisecond), 2
		}
		size := 3
		switch {
		case v == int64(int8(v)):
			size = 0
		case v == int64(int16(v)):
			size = 1
		case v == int64(int32(v)):
			size = 2
		}
		b = append(b, byte(o.kind|size<<2|unit<<4))
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		b = append(b, buf[:1<<size]...)
	}
	return b
}

// fuzzConfig maps the configuration byte to a PhiConfig covering both
// models and the edges of every parameter.
func fuzzConfig(m byte) detector.PhiConfig {
	cfg := detector.PhiConfig{
		Distribution:    detector.Distribution(m & 1),
		AcceptablePause: []time.Duration{0, time.Millisecond, 2 * time.Second, time.Hour}[m>>1&3],
		Window:          []int{2, 3, 100, detector.MaxWindow}[m>>3&3],
		MinStdDev:       []time.Duration{1, time.Millisecond, 100 * time.Millisecond, 10 * time.Second}[m>>5&3],
	}
	if m&0x80 != 0 {
		cfg.MaxInterval = detector.MaxIntervalLimit
		cfg.Threshold = 0.2
	}
	return cfg.WithDefaults()
}

type observation struct {
	at  detector.Time
	lvl float64
}

// FuzzPhi feeds arbitrary arrival sequences to Phi (differentially against
// the reference) and to Timeout, and checks that nothing panics, that phi
// is never NaN, infinite or negative, that it never decreases with
// elapsed time between arrivals, that Suspicious agrees with the
// threshold, and that SuspectAt is the exact first suspicious instant.
func FuzzPhi(f *testing.F) {
	s, ms := time.Second, time.Millisecond
	steady := []fuzzOp{{opBeat, 0}}
	for range 20 {
		steady = append(steady, fuzzOp{opBeat, s})
	}
	f.Add(byte(0), encodeOps(append(steady, fuzzOp{opSweep, 3 * s})...))
	f.Add(byte(1), encodeOps(append(steady, fuzzOp{opSweep, 30 * s})...))
	// Nasty inputs:
	f.Add(byte(0), []byte{})                                                                // nothing at all
	f.Add(byte(0x9e), encodeOps(fuzzOp{opBeat, 0}, fuzzOp{opBeat, 0}, fuzzOp{opSweep, ms})) // equal times
	f.Add(byte(0x18), encodeOps(fuzzOp{opBeat, s}, fuzzOp{opBeat, -s}, fuzzOp{opBeat, -s},
		fuzzOp{opQuery, -time.Hour}, fuzzOp{opSweep, time.Hour})) // time going backwards
	f.Add(byte(0xff), encodeOps(fuzzOp{opBeat, math.MinInt64}, fuzzOp{opBeat, math.MaxInt64},
		fuzzOp{opBeat, math.MaxInt64}, fuzzOp{opSweep, math.MaxInt64})) // MinTime to MaxTime
	f.Add(byte(0x60), encodeOps(fuzzOp{opBeat, 0}, fuzzOp{opBeat, 1}, fuzzOp{opBeat, 1},
		fuzzOp{opBeat, 1}, fuzzOp{opSweep, 1000})) // 1 ns intervals, 1 ns floor
	f.Add(byte(0x06), encodeOps(fuzzOp{opBeat, 0}, fuzzOp{opBeat, s}, fuzzOp{opReset, 0},
		fuzzOp{opBeat, -s}, fuzzOp{opBeat, 0}, fuzzOp{opQuery, 50 * s})) // reset mid-stream
	f.Add(byte(0x00), []byte{0x0c, 0x01}) // truncated value

	f.Fuzz(func(t *testing.T, mode byte, prog []byte) {
		cfg := fuzzConfig(mode)
		p := detector.NewPhi(cfg)
		ref := &refPhi{cfg: cfg}
		var to detector.Timeout
		var cursor detector.Time
		var seen []observation // queries since the last state change
		var seenTO []observation

		check := func(q detector.Time) {
			phi := p.Phi(q)
			if math.IsNaN(phi) || math.IsInf(phi, 0) || phi < 0 {
				t.Fatalf("Phi(%d) = %v, want finite and ≥ 0", q, phi)
			}
			if got, want := p.Suspicious(q), len(ref.arrivals) > 0 && phi >= cfg.Threshold; got != want {
				t.Fatalf("Suspicious(%d) = %v with phi %v, threshold %v", q, got, phi, cfg.Threshold)
			}
			mean, std, _ := ref.stats()
			if want, ok := ref.phi(q, mean, std); ok && math.Abs(phi-want) > 1e-9*want {
				t.Fatalf("Phi(%d) = %.17g, reference %.17g", q, phi, want)
			}
			for _, o := range seen {
				if (o.at <= q && o.lvl > phi) || (o.at >= q && o.lvl < phi) {
					t.Fatalf("phi not monotone: Phi(%d) = %.17g but Phi(%d) = %.17g", o.at, o.lvl, q, phi)
				}
			}
			if len(seen) < 64 {
				seen = append(seen, observation{q, phi})
			}
			lvl := to.Level(q)
			if math.IsNaN(lvl) || math.IsInf(lvl, 0) || lvl < 0 {
				t.Fatalf("Timeout.Level(%d) = %v, want finite and ≥ 0", q, lvl)
			}
			for _, o := range seenTO {
				if (o.at <= q && o.lvl > lvl) || (o.at >= q && o.lvl < lvl) {
					t.Fatalf("Timeout level not monotone: Level(%d) = %v but Level(%d) = %v", o.at, o.lvl, q, lvl)
				}
			}
			if len(seenTO) < 64 {
				seenTO = append(seenTO, observation{q, lvl})
			}
			if got, want := to.Suspicious(q), to.SuspectAt() != detector.MaxTime && q >= to.SuspectAt(); got != want {
				t.Fatalf("Timeout.Suspicious(%d) = %v, SuspectAt() = %d", q, got, to.SuspectAt())
			}
		}

		for {
			o, rest, ok := decodeOp(prog)
			if !ok {
				break
			}
			prog = rest
			v := o.v
			switch o.kind {
			case opBeat:
				cursor = cursor.Add(v)
				p.Heartbeat(cursor)
				ref.heartbeat(cursor)
				to.Heartbeat(cursor)
				seen, seenTO = seen[:0], seenTO[:0]
				if got, max := p.Samples(), cfg.Window; got > max {
					t.Fatalf("Samples() = %d, above the window %d", got, max)
				}
				if p.Mean() < 0 || p.StdDev() < 0 {
					t.Fatalf("Mean(), StdDev() = %v, %v, want ≥ 0", p.Mean(), p.StdDev())
				}
				checkSuspectAt(t, p, cfg.Threshold)
			case opQuery:
				cursor = cursor.Add(v)
				check(cursor)
			case opSweep:
				for i := range int64(33) {
					check(cursor.Add(v / 32 * time.Duration(i)))
				}
			case opReset:
				p.Reset()
				ref = &refPhi{cfg: cfg}
				to.Reset()
				seen, seenTO = seen[:0], seenTO[:0]
			}
		}
	})
}

// decodeOp reads one operation; ok is false at the end of the program or
// on a truncated value.
func decodeOp(prog []byte) (o fuzzOp, rest []byte, ok bool) {
	if len(prog) == 0 {
		return o, nil, false
	}
	op := prog[0]
	size := 1 << (op >> 2 & 3)
	if len(prog) < 1+size {
		return o, nil, false
	}
	var buf [8]byte
	copy(buf[:], prog[1:1+size])
	raw := int64(binary.LittleEndian.Uint64(buf[:]))
	raw = raw << (64 - 8*size) >> (64 - 8*size) // sign-extend
	v := time.Duration(raw)
	for range op >> 4 & 3 { // unit: ×1000 per step, saturating
		switch {
		case v > math.MaxInt64/1000:
			v = math.MaxInt64
		case v < math.MinInt64/1000:
			v = math.MinInt64
		default:
			v *= 1000
		}
	}
	return fuzzOp{int(op & 3), v}, prog[1+size:], true
}

// TestFuzzEncoding checks that the seeds mean what they say.
func TestFuzzEncoding(t *testing.T) {
	ops := []fuzzOp{{opBeat, 0}, {opBeat, time.Second}, {opQuery, -time.Hour}, {opSweep, 1},
		{opBeat, math.MinInt64}, {opBeat, math.MaxInt64}, {opReset, 0}, {opQuery, -1234567}, {opBeat, 300 * time.Millisecond}}
	prog := encodeOps(ops...)
	for i, want := range ops {
		got, rest, ok := decodeOp(prog)
		if !ok || got != want {
			t.Fatalf("op %d: decodeOp = %+v, %v; want %+v", i, got, ok, want)
		}
		prog = rest
	}
	if len(prog) != 0 {
		t.Errorf("%d bytes left after decoding every op", len(prog))
	}
}

// FuzzSuspicion starts a suspicion with arbitrary parameters and feeds it
// arbitrary witnesses (8 bytes each), checking that the deadline stays
// within [start+Min, start+Max], never moves later, equals start +
// Timeout(n, confirmations), and that Confirm counts exactly the new
// witnesses until MaxWitnesses are recorded.
func FuzzSuspicion(f *testing.F) {
	f.Add(int64(0), int64(10_000), int64(0), 0.0, int64(0), []byte("\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00"))
	// Nasty inputs: negative and huge sizes, invalid factors and counts,
	// a start at the end of time, repeated witnesses.
	f.Add(int64(math.MaxInt64-5), int64(-1), int64(-1), math.NaN(), int64(-3), []byte("AAAAAAAAAAAAAAAAAAAAAAAA"))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64), 1e300, int64(100), []byte("0123456789abcdef0123456789abcdefXXXXXXXXYYYYYYYY"))
	f.Fuzz(func(t *testing.T, start, n, minBase int64, factor float64, expected int64, ws []byte) {
		cfg := detector.SuspicionConfig{MinBase: time.Duration(minBase), MaxFactor: factor, Expected: int(expected)}
		var s detector.Suspicion
		now := detector.Time(start)
		s.Start(now, int(n), 0xfeed, cfg)
		lo, hi := now.Add(cfg.Min(int(n))), now.Add(cfg.Max(int(n)))
		if lo > hi {
			t.Fatalf("Min(%d) = %v above Max = %v", n, cfg.Min(int(n)), cfg.Max(int(n)))
		}
		seen := map[uint64]bool{0xfeed: true}
		prev := s.Deadline()
		for ; len(ws) >= 8; ws = ws[8:] {
			w := binary.LittleEndian.Uint64(ws)
			want := !seen[w] && len(seen) < detector.MaxWitnesses
			if got := s.Confirm(w); got != want {
				t.Fatalf("Confirm(%#x) = %v, want %v (%d witnesses)", w, got, want, len(seen))
			}
			if want {
				seen[w] = true
			}
			d := s.Deadline()
			if d < lo || d > hi || d > prev {
				t.Fatalf("Deadline() = %v: outside [%v, %v] or later than before (%v)", d, lo, hi, prev)
			}
			if want := now.Add(cfg.Timeout(int(n), s.Confirmations())); d != want {
				t.Fatalf("Deadline() = %v, want start + Timeout = %v", d, want)
			}
			prev = d
		}
		if got := s.Confirmations(); got != len(seen)-1 {
			t.Fatalf("Confirmations() = %d, want %d", got, len(seen)-1)
		}
	})
}
