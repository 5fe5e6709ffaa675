//go:build linux

package sim

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// The calibration benchmarks measure what the engine's work costs, to set
// DefaultCost. BenchmarkCalibrateCore runs whole clusters with MeasureCore,
// times every core call and fits the cost model's engine terms to the
// calls by least squares; BenchmarkCalibrateSeal times AES-GCM at two
// sizes, for the fixed and per-KiB parts of sealing. Run them with
//
//	go test -run '^$' -bench 'CalibrateCore' -benchtime=1x -count=6 ./engine/sim/
//	go test -run '^$' -bench 'CalibrateSeal' -benchmem -count=6 ./engine/sim/
//
// and take the medians (-v shows each fit, the alternative models and
// what each message type costs). Kernel costs come from package netio's UDP
// benchmarks (see DefaultCost).
//
// Calls are timed with the thread's CPU clock (the benchmark's goroutine
// locked to its thread), so that a call during which the process was
// descheduled — the machine is shared — counts only the CPU it used; the
// clock's own cost, measured as the median of empty intervals, is
// subtracted.

// threadCPU reads the calling thread's CPU clock.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// clockCost returns the median of empty intervals on threadCPU.
func clockCost() float64 {
	d := make([]float64, 10001)
	for i := range d {
		t0 := threadCPU()
		d[i] = float64(threadCPU() - t0)
	}
	sort.Float64s(d)
	return d[len(d)/2]
}

// recKinds are the record types the fit tells apart; the last is the rest.
var recKinds = []codec.RecType{codec.RecMember, codec.RecState, codec.RecHeartbeat, codec.RecDigest, codec.RecShardRef, codec.RecPrint}

// sample is one timed core call.
type sample struct {
	typ      codec.MsgType // 0 for a Tick (with Publish)
	recs     [7]int        // records by recKinds, then the rest
	records  int
	body     int // body bytes, decompressed
	outs     int // datagrams emitted
	outBytes int
	since    int // for a tick: body bytes the node received since its last tick
	sealedIn int // bytes of the datagram received, if sealed
	sealed   int // datagrams emitted sealed
	sealedKB float64
	ns       float64
}

// calibrator collects samples from a simulator's trace hook.
type calibrator struct {
	samples []sample
	zbuf    []byte
	since   map[int]int // body bytes each node received since its last tick
}

func (c *calibrator) trace(node int, in []byte, out []netio.Message, d time.Duration) {
	sm := sample{outs: len(out), ns: float64(d.Nanoseconds())}
	for _, m := range out {
		sm.outBytes += len(m.Buf)
		if codec.Flags(m.Buf[4])&codec.FlagSealed != 0 {
			sm.sealed++
			sm.sealedKB += float64(len(m.Buf)) / 1024
		}
	}
	if in != nil {
		c.describe(&sm, in)
		c.since[node] += sm.body
	} else {
		sm.since = c.since[node]
		c.since[node] = 0
	}
	c.samples = append(c.samples, sm)
}

// describe fills in what the received datagram b holds. It runs outside
// the timed call.
func (c *calibrator) describe(sm *sample, b []byte) {
	h, err := codec.ParseHeader(b)
	if err != nil {
		sm.typ = 255
		return
	}
	sm.typ = h.Type
	body := b[codec.HeaderSize : codec.HeaderSize+int(h.Length)]
	if h.Flags&codec.FlagSealed != 0 {
		sm.body = len(body) - codec.SealOverhead // records not counted
		sm.sealedIn = len(b)
		return
	}
	if h.Flags&codec.FlagCompressed != 0 {
		out, err := bulk.Decompress(c.zbuf[:0], body, 1<<16)
		if err != nil {
			return
		}
		c.zbuf, body = out[:0], out
	}
	sm.body = len(body)
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		k := len(recKinds)
		for i, t := range recKinds {
			if r.Type() == t {
				k = i
			}
		}
		sm.recs[k] += r.Count()
		sm.records += r.Count()
	}
}

// calibrationScenarios are the runs the engine's costs are fitted on: a
// 1,000-node bootstrap through three seeds (joins, shard transfers,
// anti-entropy, gossip of a growing table), a converged 1,000-node cluster
// left alone for 30 s (heartbeats and anti-entropy in sync), and one in
// which every node updates its state twice (heartbeats, piggybacked and
// gossiped state, repair).
var calibrationScenarios = []struct {
	name string
	run  func(tb testing.TB, keys bool, trace func(int, []byte, []netio.Message, time.Duration))
}{
	{"bootstrap", func(tb testing.TB, keys bool, trace func(int, []byte, []netio.Message, time.Duration)) {
		const n = 1000
		s := calibrationSim(tb, n, Alone, keys, trace)
		seeds := []netip.AddrPort{Addr(0), Addr(1), Addr(2)}
		for i := 3; i < n; i++ {
			s.RunUntil(5 * time.Second * time.Duration(i) / n)
			if err := s.Join(i, seeds...); err != nil {
				tb.Fatal(err)
			}
		}
		s.RunUntil(20 * time.Second)
	}},
	{"quiet", func(tb testing.TB, keys bool, trace func(int, []byte, []netio.Message, time.Duration)) {
		s := calibrationSim(tb, 1000, Converged, keys, trace)
		s.RunFor(30 * time.Second)
	}},
	{"steady", func(tb testing.TB, keys bool, trace func(int, []byte, []netio.Message, time.Duration)) {
		const n = 1000
		s := calibrationSim(tb, n, Converged, keys, trace)
		s.RunFor(5 * time.Second)
		for round := range 2 {
			for i := range n {
				if err := s.SetState(i, []byte("load"), fmt.Appendf(nil, "%d-%d", i, round)); err != nil {
					tb.Fatal(err)
				}
				s.RunFor(5 * time.Millisecond)
			}
		}
		s.RunFor(10 * time.Second)
	}},
}

func calibrationSim(tb testing.TB, n int, start Start, keys bool, trace func(int, []byte, []netio.Message, time.Duration)) *Sim {
	ec := engine.DefaultLANConfig()
	if keys {
		ec.Keys = [][]byte{bytes.Repeat([]byte{7}, 32)}
	} else {
		ec.Open = true
	}
	link := netio.Link{Latency: netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}}
	s, err := New(Config{N: n, Seed: 1, Engine: ec, Link: link, Start: start, MeasureCore: true, Cost: CostModel{Free: true}})
	if err != nil {
		tb.Fatal(err)
	}
	s.trace = trace
	s.clock = threadCPU
	return s
}

// outlier is the call time above which a sample is taken for the process
// being descheduled, not for work, and left out of the fit.
const outlier = 2e6 // ns

// lsq solves the least-squares problem min |Xβ - y| by the normal
// equations; features are few and well scaled.
func lsq(x [][]float64, y []float64) []float64 {
	k := len(x[0])
	a := make([][]float64, k)
	for i := range a {
		a[i] = make([]float64, k+1)
	}
	for r, row := range x {
		for i := range k {
			for j := range k {
				a[i][j] += row[i] * row[j]
			}
			a[i][k] += row[i] * y[r]
		}
	}
	for col := range k {
		p := col
		for r := col + 1; r < k; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		if a[col][col] == 0 {
			continue
		}
		for r := range k {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for j := col; j <= k; j++ {
				a[r][j] -= f * a[col][j]
			}
		}
	}
	beta := make([]float64, k)
	for i := range k {
		if a[i][i] != 0 {
			beta[i] = a[i][k] / a[i][i]
		}
	}
	return beta
}

// model is one way to predict a call's cost from its sample.
type model struct {
	name     string
	terms    []string
	features func(*sample) []float64
}

// costModel is the form of DefaultCost's engine terms, fitted to receives
// and ticks together, so that both share the cost of what they emit. A
// tick also publishes what the node merged since its last tick, which
// costs in proportion to the bytes received meanwhile (PublishKiB); the
// runtime publishes after every batch it receives, so DefaultCost charges
// it with the receive: its BodyKiB is the fit's BodyKiB plus PublishKiB.
var costModel = model{"cost model", []string{"Datagram", "BodyKiB", "EmitKiB", "Tick", "PublishKiB"}, func(s *sample) []float64 {
	if s.typ == 0 {
		return []float64{0, 0, float64(s.outBytes) / 1024, 1, float64(s.since) / 1024}
	}
	return []float64{1, float64(s.body) / 1024, float64(s.outBytes) / 1024, 0, 0}
}}

var receiveModels = []model{
	{"per-record", []string{"datagram", "record", "emit", "emit-KiB"}, func(s *sample) []float64 {
		return []float64{1, float64(s.records), float64(s.outs), float64(s.outBytes) / 1024}
	}},
	{"per-byte", []string{"datagram", "KiB", "emit", "emit-KiB"}, func(s *sample) []float64 {
		return []float64{1, float64(s.body) / 1024, float64(s.outs), float64(s.outBytes) / 1024}
	}},
	{"per-record-type", []string{"datagram", "member", "state", "heartbeat", "digest", "shardref", "print", "other", "emit", "emit-KiB"}, func(s *sample) []float64 {
		f := []float64{1}
		for _, r := range s.recs {
			f = append(f, float64(r))
		}
		return append(f, float64(s.outs), float64(s.outBytes)/1024)
	}},
}

var tickModels = []model{
	{"tick", []string{"tick", "emit"}, func(s *sample) []float64 {
		return []float64{1, float64(s.outs)}
	}},
	{"tick-bytes", []string{"tick", "emit", "emit-KiB"}, func(s *sample) []float64 {
		return []float64{1, float64(s.outs), float64(s.outBytes) / 1024}
	}},
	{"tick-received", []string{"tick", "emit-KiB", "received-KiB"}, func(s *sample) []float64 {
		return []float64{1, float64(s.outBytes) / 1024, float64(s.since) / 1024}
	}},
	{"tick-all", []string{"tick", "emit", "emit-KiB", "received-KiB"}, func(s *sample) []float64 {
		return []float64{1, float64(s.outs), float64(s.outBytes) / 1024, float64(s.since) / 1024}
	}},
}

// fitted is a model fitted to samples, with its error: the sum of the
// absolute errors of the prediction over the sum of the times.
type fitted struct {
	beta []float64
	err  float64
}

func fitModel(m model, samples []sample) fitted {
	var x [][]float64
	var y []float64
	for i := range samples {
		x = append(x, m.features(&samples[i]))
		y = append(y, samples[i].ns)
	}
	if len(x) == 0 {
		return fitted{beta: make([]float64, len(m.terms))}
	}
	beta := lsq(x, y)
	var abs, sum float64
	for i, row := range x {
		p := 0.0
		for j, v := range row {
			p += beta[j] * v
		}
		abs += math.Abs(p - y[i])
		sum += y[i]
	}
	return fitted{beta: beta, err: abs / sum}
}

func (f fitted) String(m model) string {
	var parts []string
	for i, t := range m.terms {
		parts = append(parts, fmt.Sprintf("%s %.0f", t, f.beta[i]))
	}
	return fmt.Sprintf("%s: %s ns; error %.1f%%", m.name, strings.Join(parts, ", "), 100*f.err)
}

// engineCost is the process's part of the cost model (all but the
// kernel's Recv and Send): what the calibration fits, plus sealing. Summed
// over a run it compares with the measured total, though the model charges
// a tick's publishing to the receives before it.
func engineCost(m *CostModel, s *sample) float64 {
	c := float64(s.outBytes)*float64(m.EmitKiB)/1024 +
		float64(s.sealed)*float64(m.Seal) + s.sealedKB*float64(m.SealKiB)
	if s.typ == 0 {
		return c + float64(m.Tick)
	}
	c += float64(m.Datagram) + float64(s.body)*float64(m.BodyKiB)/1024
	if s.sealedIn > 0 {
		c += float64(m.Open) + float64(s.sealedIn)*float64(m.OpenKiB)/1024
	}
	return c
}

// BenchmarkCalibrateCore runs each calibration scenario once per iteration,
// in an open and in a sealed cluster, and fits the engine's terms to every
// call: receives by their body bytes (per-byte, the model DefaultCost
// uses), by their records, or by their records of each type; ticks by the
// datagrams and bytes they emit. It reports the per-byte fit of the open
// cluster, and for each scenario how DefaultCost's engine terms predict
// the measured total (model/measured, in percent).
func BenchmarkCalibrateCore(b *testing.B) {
	for _, keys := range []bool{false, true} {
		name := "open"
		if keys {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			zero := clockCost()
			by := map[string][]sample{}
			for b.Loop() {
				for _, sc := range calibrationScenarios {
					c := &calibrator{since: map[int]int{}}
					sc.run(b, keys, c.trace)
					by[sc.name] = append(by[sc.name], c.samples...)
				}
			}
			var rx, ticks, both []sample
			for _, sc := range calibrationScenarios {
				all := by[sc.name]
				dropped := 0
				var measured, predicted float64
				for i := range all {
					s := &all[i]
					s.ns -= zero
					if s.ns > outlier {
						dropped++
						continue
					}
					measured += s.ns
					predicted += engineCost(&DefaultCost, s)
					both = append(both, *s)
					if s.typ == 0 {
						ticks = append(ticks, *s)
					} else {
						rx = append(rx, *s)
					}
				}
				b.Logf("%s: %d calls, %d over %v left out; clock cost %.0f ns; DefaultCost engine terms predict %.0f%% of the measured %.2fs",
					sc.name, len(all), dropped, time.Duration(outlier), zero, 100*predicted/measured, measured/1e9)
				b.ReportMetric(100*predicted/measured, sc.name+"-model/measured-%")
				logByType(b, all)
			}
			f := fitModel(costModel, both)
			b.Logf("%s; so BodyKiB %.0f ns", f.String(costModel), f.beta[1]+f.beta[4])
			for i, t := range costModel.terms {
				b.ReportMetric(f.beta[i], t+"-ns")
			}
			b.ReportMetric(f.beta[1]+f.beta[4], "BodyKiB+PublishKiB-ns")
			for _, m := range receiveModels {
				b.Logf("receive, %s", fitModel(m, rx).String(m))
			}
			for _, m := range tickModels {
				b.Logf("%s", fitModel(m, ticks).String(m))
			}
		})
	}
}

// logByType logs, per message type, the calls, the mean records, body and
// emitted datagrams, and the mean and median time.
func logByType(b *testing.B, rx []sample) {
	by := map[codec.MsgType][]sample{}
	for _, s := range rx {
		if s.ns <= outlier {
			by[s.typ] = append(by[s.typ], s)
		}
	}
	var types []codec.MsgType
	for t := range by {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, t := range types {
		ss := by[t]
		var rec, body, outs, ns float64
		times := make([]float64, len(ss))
		for i, s := range ss {
			rec += float64(s.records)
			body += float64(s.body)
			outs += float64(s.outs)
			ns += s.ns
			times[i] = s.ns
		}
		sort.Float64s(times)
		k := float64(len(ss))
		name := t.String()
		if t == 0 {
			name = "tick"
		}
		b.Logf("  %-14s %8d calls: %6.1f records, %6.0f body bytes, %5.2f emitted; mean %6.0f ns, median %6.0f ns",
			name, len(ss), rec/k, body/k, outs/k, ns/k, times[len(times)/2])
	}
}

// BenchmarkCalibrateSeal seals and opens a heartbeat-sized and a full
// datagram, for the fixed and per-KiB costs of AES-GCM (Open, OpenKiB,
// Seal, SealKiB).
func BenchmarkCalibrateSeal(b *testing.B) {
	kr, err := codec.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{68, codec.DefaultDatagramSize - codec.SealOverhead} {
		h := codec.Header{Type: codec.MsgShardData, Length: uint16(size - codec.HeaderSize)}
		plain := h.Append(nil)
		plain = append(plain, make([]byte, size-codec.HeaderSize)...)
		sealed, err := codec.Seal(nil, plain, kr)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, 2*codec.DefaultDatagramSize)
		b.Run(fmt.Sprintf("Seal/%dB", len(sealed)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(sealed)))
			for b.Loop() {
				if _, err := codec.Seal(out[:0], plain, kr); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Open/%dB", len(sealed)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(sealed)))
			for b.Loop() {
				if _, err := codec.Open(out[:0], sealed, kr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
