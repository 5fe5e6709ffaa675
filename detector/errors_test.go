package detector_test

import (
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/detector"
)

func TestConfigError(t *testing.T) {
	err := error(&detector.ConfigError{Field: "PhiConfig.Window", Reason: "must be between 2 and 4096"})
	if got, want := err.Error(), "detector: PhiConfig.Window must be between 2 and 4096"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, detector.ErrInvalidConfig) {
		t.Errorf("errors.Is(%v, ErrInvalidConfig) = false, want true", err)
	}
	joined := detector.PhiConfig{Window: 1, Threshold: -1}.Validate()
	var ce *detector.ConfigError
	if !errors.As(joined, &ce) || ce.Field != "PhiConfig.Threshold" {
		t.Errorf("errors.As(Validate(), *ConfigError) = %v, want the Threshold problem first", ce)
	}
}
