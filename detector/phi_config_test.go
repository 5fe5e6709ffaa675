package detector_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

func TestPhiConfigWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   detector.PhiConfig
		want detector.PhiConfig
	}{
		{"zero", detector.PhiConfig{}, detector.PhiConfig{
			Threshold: 8, Window: 100, MinStdDev: 100 * time.Millisecond,
			FirstInterval: time.Second, MaxInterval: 10 * time.Second}},
		{"max interval follows first interval", detector.PhiConfig{FirstInterval: 5 * time.Second}, detector.PhiConfig{
			Threshold: 8, Window: 100, MinStdDev: 100 * time.Millisecond,
			FirstInterval: 5 * time.Second, MaxInterval: 50 * time.Second}},
		{"set fields kept, even invalid", detector.PhiConfig{Threshold: -1, Window: 7, MinStdDev: -1, AcceptablePause: time.Second,
			FirstInterval: 2 * time.Second, MaxInterval: time.Second, Distribution: detector.Exponential}, detector.PhiConfig{
			Threshold: -1, Window: 7, MinStdDev: -1, AcceptablePause: time.Second,
			FirstInterval: 2 * time.Second, MaxInterval: time.Second, Distribution: detector.Exponential}},
	}
	for _, tt := range tests {
		if got := tt.in.WithDefaults(); got != tt.want {
			t.Errorf("%s: %+v.WithDefaults() = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestPhiConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		cfg      detector.PhiConfig
		problems int
	}{
		{"zero is valid", detector.PhiConfig{}, 0},
		{"explicit valid", detector.PhiConfig{Threshold: 12, Window: detector.MaxWindow, MinStdDev: time.Nanosecond,
			AcceptablePause: 3 * time.Second, FirstInterval: 2 * time.Second, MaxInterval: detector.MaxIntervalLimit,
			Distribution: detector.Exponential}, 0},
		{"negative threshold", detector.PhiConfig{Threshold: -8}, 1},
		{"NaN threshold", detector.PhiConfig{Threshold: math.NaN()}, 1},
		{"infinite threshold", detector.PhiConfig{Threshold: math.Inf(1)}, 1},
		{"window 1", detector.PhiConfig{Window: 1}, 1},
		{"window too large", detector.PhiConfig{Window: detector.MaxWindow + 1}, 1},
		{"negative min std dev", detector.PhiConfig{MinStdDev: -time.Millisecond}, 1},
		{"negative pause", detector.PhiConfig{AcceptablePause: -time.Second}, 1},
		{"negative first interval", detector.PhiConfig{FirstInterval: -time.Second}, 1},
		{"max interval too large", detector.PhiConfig{MaxInterval: detector.MaxIntervalLimit + 1}, 1},
		{"first beyond max", detector.PhiConfig{FirstInterval: 2 * time.Second, MaxInterval: time.Second}, 1},
		{"unknown distribution", detector.PhiConfig{Distribution: 2}, 1},
		{"everything wrong", detector.PhiConfig{Threshold: -1, Window: -1, MinStdDev: -1, AcceptablePause: -1,
			FirstInterval: -1, MaxInterval: -1, Distribution: 9}, 7},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.problems == 0 {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, detector.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want an error matching ErrInvalidConfig", tt.name, err)
			continue
		}
		var ce *detector.ConfigError
		if !errors.As(err, &ce) || ce.Field == "" {
			t.Errorf("%s: Validate() = %v, want a *ConfigError naming the field", tt.name, err)
		}
		if got := len(err.(interface{ Unwrap() []error }).Unwrap()); got != tt.problems {
			t.Errorf("%s: Validate() reported %d problems (%v), want %d", tt.name, got, err, tt.problems)
		}
	}
}

// TestNewPhiSanitizes checks that invalid fields never reach the math.
func TestNewPhiSanitizes(t *testing.T) {
	p := detector.NewPhi(detector.PhiConfig{Threshold: math.NaN(), Window: 1 << 20, MinStdDev: -1,
		AcceptablePause: -1, FirstInterval: -1, MaxInterval: -1, Distribution: 7})
	got := p.Config()
	want := detector.PhiConfig{Threshold: 8, Window: detector.MaxWindow, MinStdDev: 100 * time.Millisecond,
		FirstInterval: time.Second, MaxInterval: 10 * time.Second}
	if got != want {
		t.Errorf("NewPhi(invalid).Config() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("NewPhi(invalid).Config().Validate() = %v, want nil", err)
	}
}

func TestDistributionString(t *testing.T) {
	for d, want := range map[detector.Distribution]string{
		detector.Normal: "normal", detector.Exponential: "exponential", 5: "Distribution(5)"} {
		if got := d.String(); got != want {
			t.Errorf("Distribution(%d).String() = %q, want %q", d, got, want)
		}
	}
}
