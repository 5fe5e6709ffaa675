package netns

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
	"github.com/hearsay-io/hearsay/engine"
)

// timing is the part of a node's configuration the scenario bounds derive
// from. The harness reads it from a running hearsayd's /config, so the
// bounds follow whatever preset the agents run.
type timing struct {
	HeartbeatInterval time.Duration
	Observers         int
	Phi               detector.PhiConfig
	ProbeTimeout      time.Duration
	IndirectTimeout   time.Duration
	Suspicion         detector.SuspicionConfig
	MaxLocalHealth    int
	GossipInterval    time.Duration
	GossipFanout      int
	RetransmitMult    float64
	SyncInterval      time.Duration
	LeaveTimeout      time.Duration
}

// timingOf extracts the timing of an engine configuration (defaults as the
// presets set them), for tests of the bounds themselves.
func timingOf(c engine.Config, leave time.Duration) timing {
	return timing{
		HeartbeatInterval: c.HeartbeatInterval,
		Observers:         c.Observers,
		Phi:               c.Phi.WithDefaults(),
		ProbeTimeout:      c.ProbeTimeout,
		IndirectTimeout:   c.IndirectTimeout,
		Suspicion:         c.Suspicion,
		MaxLocalHealth:    c.MaxLocalHealth,
		GossipInterval:    c.GossipInterval,
		GossipFanout:      c.GossipFanout,
		RetransmitMult:    c.RetransmitMult,
		SyncInterval:      c.SyncInterval,
		LeaveTimeout:      leave,
	}
}

// warmBeats is how many heartbeat periods the harness lets a converged
// cluster run before it breaks something, so that every observer's phi
// window holds that many intervals.
const warmBeats = 8

// bounds are the time limits of the scenarios for a cluster of N members,
// each derived from the configuration by the formula in its comment.
type bounds struct {
	N int

	// Phi is the silence after which an observer's phi crosses the
	// threshold, computed with the detector itself (detector.Phi.SuspectAt)
	// for the worst of two histories: a fresh detector (one heartbeat, the
	// FirstInterval model), and a warmed-up one whose window holds one
	// irregular first interval of 2·HeartbeatInterval (the observer created
	// its monitor before the subject learned to send to it) followed by
	// warmBeats−1 regular intervals.
	Phi time.Duration
	// Spread is how long an update takes to reach every member:
	// max(GossipInterval·⌈RetransmitMult·log₂(N+1)⌉, SyncInterval·max(1,
	// log₁₀N)). Gossip sends each update ⌈λ·log₂(N+1)⌉ times, one round
	// per GossipInterval; anti-entropy (digest exchange with a random
	// member every SyncInterval·max(1, log₁₀N), engine.Config) repairs
	// whatever gossip missed.
	Spread time.Duration

	// Converge: from the moment every agent runs (its socket bound and its
	// Join started) until all list all N alive: a pending join retry
	// (backoff capped at SyncInterval), then the joiner's record and the
	// full table spread: SyncInterval + 2·Spread.
	Converge time.Duration
	// Detect: from a crash (or a cut link) until every other member lists
	// the node dead: Phi + ProbeTimeout (direct ping) + IndirectTimeout
	// (ping-req through IndirectProbes helpers, whose nacks allow the
	// accusation) + Suspicion.Max(N) (the accuser's suspicion timer with
	// no confirmation) + ProbeTimeout (a member that only heard the
	// suspicion pings the suspect once before its own timer declares
	// death) + Spread (the dead record reaches everyone).
	Detect time.Duration
	// Resolve is the network's address-resolution retransmit time (ARP
	// and neighbour discovery, read from the kernel: ip ntable): after a
	// link comes back, a datagram to a neighbour whose entry failed during
	// the outage waits up to this long for the next resolution probe.
	Resolve time.Duration

	// Heal: from a host's link coming back until every member lists it
	// alive: Resolve (its first datagrams may wait for address
	// resolution) + 2·HeartbeatInterval (its next heartbeat reaches an
	// observer, which tells it that it is believed dead; telling is
	// rate-limited to one per HeartbeatInterval) + Rejoin (it proves it
	// reaches RejoinProbes members) + Spread (the refutation reaches
	// everyone).
	Heal time.Duration
	// Rejoin: a node told it is dead refutes only after RejoinProbes
	// members all answer one round of pings within ProbeTimeout·(1+health),
	// its local health possibly at MaxLocalHealth after isolation. The
	// first round can fail while a ping or its ack still waits for address
	// resolution; the next starts after the backoff, HeartbeatInterval
	// plus up to half of it in jitter: 2·ProbeTimeout·(1+MaxLocalHealth)
	// + 1.5·HeartbeatInterval.
	Rejoin time.Duration
	// SplitDetect: from a 3|N−3 split until each side lists every member
	// of the other dead. A member is watched by its Observers (K)
	// successors on the ring, so a side first detects only the members of
	// the other side it watches; the others become its subjects once
	// their successors are dead in its view, with fresh detectors. A run
	// of r consecutive members of the other side is detected K at a time:
	// at most ⌈(N−3)/K⌉ waves. Each wave is a Detect, plus one
	// inconclusive indirect probe (every helper picked was on the other
	// side, so no nack came: the observer raises its local health and
	// probes again a period later): HeartbeatInterval + 2·(ProbeTimeout +
	// IndirectTimeout), the timeouts stretched by the raised health.
	SplitDetect time.Duration
	// SplitHeal: both sides believe the other dead. Members contact a
	// member they believe dead every 2·HeartbeatInterval (always on the
	// side that believes more members dead than alive), which tells the
	// contacted member that it is believed dead, and the exchanged tables
	// tell the other side the same: both sides refute as after a healed
	// link: 2·HeartbeatInterval + 2·Heal (one wave of refutations per
	// side).
	SplitHeal time.Duration
	// Leave: from SIGTERM until every other member lists the node left:
	// the Left record goes to the node's observers at once and spreads
	// like any update: Spread + GossipInterval.
	Leave time.Duration
	// Join: from a restarted agent running until every member lists its
	// new generation alive: IndirectTimeout (the first join retry, should
	// the first attempt be lost) + Spread.
	Join time.Duration
}

// phiSilence returns how long after the last heartbeat of history (beat
// times from 0) a detector configured by cfg becomes suspicious.
func phiSilence(cfg detector.PhiConfig, history []time.Duration) time.Duration {
	p := detector.NewPhi(cfg)
	var last detector.Time
	for _, at := range history {
		last = detector.Time(time.Second).Add(at)
		p.Heartbeat(last)
	}
	return p.SuspectAt().Sub(last)
}

// spreadRounds is ⌈λ·log₂(n+1)⌉, at least 1: how often each node sends an
// update (engine.Config.RetransmitMult).
func spreadRounds(mult float64, n int) int {
	return max(1, int(math.Ceil(mult*math.Log2(float64(n)+1))))
}

// syncPeriod is SyncInterval·max(1, log₁₀n) (engine.Config.SyncInterval).
func syncPeriod(base time.Duration, n int) time.Duration {
	return time.Duration(float64(base) * max(1, math.Log10(float64(n))))
}

// computeBounds derives the bounds for n members from the agents' timing
// and the network's address-resolution retransmit time.
func computeBounds(tm timing, n int, resolve time.Duration) bounds {
	hb := tm.HeartbeatInterval
	young := phiSilence(tm.Phi, []time.Duration{0})
	warm := []time.Duration{0, 2 * hb}
	for i := 1; i < warmBeats; i++ {
		warm = append(warm, warm[len(warm)-1]+hb)
	}
	b := bounds{N: n, Phi: max(young, phiSilence(tm.Phi, warm)), Resolve: resolve}
	b.Spread = max(time.Duration(spreadRounds(tm.RetransmitMult, n))*tm.GossipInterval, syncPeriod(tm.SyncInterval, n))
	b.Converge = tm.SyncInterval + 2*b.Spread
	b.Detect = b.Phi + tm.ProbeTimeout + tm.IndirectTimeout + tm.Suspicion.Max(n) + tm.ProbeTimeout + b.Spread
	b.Rejoin = 2*time.Duration(1+tm.MaxLocalHealth)*tm.ProbeTimeout + 3*hb/2
	b.Heal = resolve + 2*hb + b.Rejoin + b.Spread
	waves := (max(3, n-3) + tm.Observers - 1) / max(1, tm.Observers)
	retry := hb + 2*(tm.ProbeTimeout+tm.IndirectTimeout)
	b.SplitDetect = time.Duration(waves) * (b.Detect + retry)
	b.SplitHeal = 2*hb + 2*b.Heal
	b.Leave = b.Spread + tm.GossipInterval
	b.Join = tm.IndirectTimeout + b.Spread
	return b
}

func (b bounds) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "bounds for N=%d: phi silence %v, spread %v, rejoin %v, address resolution %v\n", b.N, b.Phi, b.Spread, b.Rejoin, b.Resolve)
	for _, r := range []struct {
		name string
		d    time.Duration
	}{
		{"converge", b.Converge}, {"detect", b.Detect}, {"heal", b.Heal},
		{"split-detect", b.SplitDetect}, {"split-heal", b.SplitHeal},
		{"leave", b.Leave}, {"join", b.Join},
	} {
		fmt.Fprintf(&s, "  %-12s %v\n", r.name, r.d)
	}
	return s.String()
}

// TestBounds checks the bound formulas on the presets (it needs no
// privileges and always runs): every bound is positive, the phi term is at
// least one heartbeat interval, and slower presets get longer bounds.
func TestBounds(t *testing.T) {
	// Linux's default address-resolution retransmit time.
	const resolve = time.Second
	local := computeBounds(timingOf(engine.DefaultLocalConfig(), 5*time.Second), 8, resolve)
	lan := computeBounds(timingOf(engine.DefaultLANConfig(), 5*time.Second), 8, resolve)
	wan := computeBounds(timingOf(engine.DefaultWANConfig(), 5*time.Second), 8, resolve)
	for _, p := range []struct {
		name string
		b    bounds
	}{{"local", local}, {"lan", lan}, {"wan", wan}} {
		t.Logf("%s preset: %v", p.name, p.b)
		b := p.b
		for _, d := range []time.Duration{b.Converge, b.Detect, b.Heal, b.SplitDetect, b.SplitHeal, b.Leave, b.Join} {
			if d <= 0 {
				t.Errorf("%s: a bound is %v, want every bound positive: %v", p.name, d, b)
			}
		}
	}
	if hb := engine.DefaultLocalConfig().HeartbeatInterval; local.Phi < hb {
		t.Errorf("local: Phi = %v, want at least one heartbeat interval (%v)", local.Phi, hb)
	}
	if !(local.Detect < lan.Detect && lan.Detect < wan.Detect) {
		t.Errorf("Detect: local %v, lan %v, wan %v; want increasing", local.Detect, lan.Detect, wan.Detect)
	}
	// The detector's own threshold crossing for a regular window: one
	// interval plus about 5.6 standard deviations (phi 8 under the normal
	// model), with the deviation floored at MinStdDev.
	cfg := engine.DefaultLocalConfig()
	cfg.Open = true
	var regular []time.Duration
	for i := range 50 {
		regular = append(regular, time.Duration(i)*cfg.HeartbeatInterval)
	}
	got := phiSilence(cfg.Phi.WithDefaults(), regular)
	lo := cfg.HeartbeatInterval + 5*cfg.Phi.MinStdDev
	hi := cfg.HeartbeatInterval + 6*cfg.Phi.MinStdDev
	if got < lo || got > hi {
		t.Errorf("phiSilence(regular local beats) = %v, want within [%v, %v]", got, lo, hi)
	}
}
