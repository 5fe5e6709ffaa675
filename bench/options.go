package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// Preset names one of the engine's configuration presets together with the
// network a simulator gives it.
type Preset string

// The presets.
const (
	// LAN: engine.DefaultLANConfig (1 s heartbeat period, 200 ms gossip
	// interval) on links of 100 µs ± 50 µs one-way latency.
	LAN Preset = "lan"
	// WAN: engine.DefaultWANConfig (2 s period, 500 ms gossip interval) on
	// links of 20 ms plus a log-normal tail (median 2 ms, capped at 500 ms).
	WAN Preset = "wan"
	// Local: engine.DefaultLocalConfig (250 ms period, 50 ms gossip
	// interval) on links of 20 µs ± 10 µs, as on one host.
	Local Preset = "local"
)

// ParsePreset parses "lan", "wan" or "local".
func ParsePreset(s string) (Preset, error) {
	switch p := Preset(strings.ToLower(s)); p {
	case LAN, WAN, Local:
		return p, nil
	}
	return "", fmt.Errorf("bench: unknown preset %q (want lan, wan or local)", s)
}

// Engine returns the preset's engine configuration, for an open cluster:
// benchmark clusters run on a simulated network or on loopback, which the
// benchmark alone reaches. Options.Engine may set Keys (and clear Open).
func (p Preset) Engine() engine.Config {
	var c engine.Config
	switch p {
	case WAN:
		c = engine.DefaultWANConfig()
	case Local:
		c = engine.DefaultLocalConfig()
	default:
		c = engine.DefaultLANConfig()
	}
	c.Open = true
	return c
}

// Latency returns the one-way latency a simulator gives the preset's links.
func (p Preset) Latency() netio.Latency {
	switch p {
	case WAN:
		return netio.Latency{Base: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, Shape: netio.LogNormal, Sigma: 1, Max: 500 * time.Millisecond}
	case Local:
		return netio.Latency{Base: 20 * time.Microsecond, Jitter: 10 * time.Microsecond, Shape: netio.Normal}
	}
	return netio.Latency{Base: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Shape: netio.Normal}
}

// Options are the settings every scenario shares. The zero value of each
// field means its default.
type Options struct {
	// N is the cluster size. Default 10,000.
	N int
	// Seed makes a simulated run repeatable: the same options give the same
	// figures (CPU and wall times aside). Default 1.
	Seed uint64
	// Loss is the uniform probability that any datagram is lost, on every
	// link, in every scenario (the false-positive scenario adds its own).
	// Default 0.
	Loss float64
	// Preset picks the engine configuration and simulated latency.
	// Default LAN.
	Preset Preset
	// Duration is the length of the scenario's main phase; each scenario
	// documents what that is and its own default. Zero keeps the default.
	Duration time.Duration
	// Driver builds the cluster. Default the simulator.
	Driver Driver
	// Progress, when set, is told what the scenario is doing; it is called
	// from the scenario's goroutine, a few times per simulated second.
	Progress func(Progress)
	// Engine, when set, adjusts the preset's engine configuration.
	Engine func(*engine.Config)
}

// Progress describes a running scenario.
type Progress struct {
	Scenario string
	// Phase says what the scenario is doing ("warm-up", "crash 3/24").
	Phase string
	// Done is the fraction of the scenario's planned cluster time elapsed,
	// in [0, 1].
	Done float64
	// Now is the cluster time.
	Now time.Duration
}

func (o Options) withDefaults() Options {
	if o.N == 0 {
		o.N = 10000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Preset == "" {
		o.Preset = LAN
	}
	if o.Driver == nil {
		o.Driver = SimDriver{}
	}
	return o
}

func (o Options) validate(minN int) error {
	if o.N < minN {
		return fmt.Errorf("bench: N must be at least %d for this scenario, got %d", minN, o.N)
	}
	if o.Loss < 0 || o.Loss >= 1 {
		return fmt.Errorf("bench: Loss must be in [0, 1), got %v", o.Loss)
	}
	if _, err := ParsePreset(string(o.Preset)); err != nil {
		return err
	}
	return nil
}

// engineConfig returns the engine configuration of the options.
func (o Options) engineConfig() engine.Config {
	cfg := o.Preset.Engine()
	if o.Engine != nil {
		o.Engine(&cfg)
	}
	return cfg
}

// rng returns a generator for the scenario's own choices (victims, split),
// seeded from the options and a per-scenario salt, so that scenarios do not
// share a sequence.
func (o Options) rng(salt uint64) *rand.Rand {
	return rand.New(rand.NewPCG(o.Seed, salt^0x6a09e667f3bcc909))
}

// newResult starts a result for a scenario run.
func (o Options) newResult(name, title string) *Result {
	return &Result{
		Scenario: name,
		Title:    title,
		Mode:     o.Driver.Name(),
		N:        o.N,
		Seed:     o.Seed,
		Preset:   string(o.Preset),
		Loss:     o.Loss,
	}
}

// durationOr returns the options' Duration or def when zero.
func (o Options) durationOr(def time.Duration) time.Duration {
	if o.Duration > 0 {
		return o.Duration
	}
	return def
}

// setDefault sets *p to def when it is zero or negative: a config field
// left unset takes its documented default.
func setDefault[T int | float64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}
