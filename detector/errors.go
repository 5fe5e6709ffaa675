package detector

import "errors"

// ErrInvalidConfig is matched (with errors.Is) by every error that a
// configuration's Validate method returns.
var ErrInvalidConfig = errors.New("detector: invalid configuration")

// ConfigError describes one invalid configuration field. Validate joins one
// ConfigError per problem, so all of them are reported at once; each unwraps
// to ErrInvalidConfig.
type ConfigError struct {
	// Field is the name of the offending field, for example
	// "PhiConfig.Window".
	Field string
	// Reason says what is wrong with it, for example "must be at least 2".
	Reason string
}

// Error returns "detector: Field Reason".
func (e *ConfigError) Error() string { return "detector: " + e.Field + " " + e.Reason }

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
